#include "ipc.h"
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

struct ipc_msg *ipc_msg_create(enum ipc_msg_type type)
{
	struct ipc_msg *msg = i_new(struct ipc_msg, 1);
	msg->type = type;
	msg->fd = -1;
	return msg;
}

void ipc_msg_add(struct ipc_msg *msg, const char *key, const char *value)
{
	if (msg->fields_count >= IPC_MAX_FIELDS || value == NULL)
		return;
	msg->fields[msg->fields_count].key = i_strdup(key);
	msg->fields[msg->fields_count].value = i_strdup(value);
	msg->fields_count++;
}

void ipc_msg_addf(struct ipc_msg *msg, const char *key, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *value = i_strdup_vprintf(fmt, args);
	va_end(args);
	ipc_msg_add(msg, key, value);
	free(value);
}

const char *ipc_msg_get(const struct ipc_msg *msg, const char *key)
{
	for (unsigned int i = 0; i < msg->fields_count; i++) {
		if (strcmp(msg->fields[i].key, key) == 0)
			return msg->fields[i].value;
	}
	return NULL;
}

void ipc_msg_free(struct ipc_msg **_msg)
{
	struct ipc_msg *msg = *_msg;
	if (msg == NULL)
		return;
	*_msg = NULL;
	for (unsigned int i = 0; i < msg->fields_count; i++) {
		free(msg->fields[i].key);
		free(msg->fields[i].value);
	}
	if (msg->fd >= 0)
		close(msg->fd);
	free(msg);
}

static void put_u32(string_t *buf, uint32_t n)
{
	unsigned char b[4] = { n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff,
			       (n >> 24) & 0xff };
	str_append_n(buf, b, 4);
}

int ipc_send(int sock, const struct ipc_msg *msg)
{
	string_t *buf = str_new(256);
	put_u32(buf, IPC_VERSION);
	put_u32(buf, (uint32_t)msg->type);
	put_u32(buf, msg->fields_count);
	for (unsigned int i = 0; i < msg->fields_count; i++) {
		size_t klen = strlen(msg->fields[i].key);
		size_t vlen = strlen(msg->fields[i].value);
		put_u32(buf, (uint32_t)klen);
		str_append_n(buf, msg->fields[i].key, klen);
		put_u32(buf, (uint32_t)vlen);
		str_append_n(buf, msg->fields[i].value, vlen);
	}
	if (str_len(buf) > IPC_MAX_MSG_SIZE) {
		str_free(&buf);
		errno = EMSGSIZE;
		return -1;
	}
	struct iovec iov = { .iov_base = buf->data, .iov_len = buf->len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (msg->fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &msg->fd, sizeof(int));
	}
	ssize_t ret;
	do {
		ret = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (ret < 0 && errno == EINTR);
	str_free(&buf);
	return ret < 0 ? -1 : 0;
}

static bool get_u32(const unsigned char **p, const unsigned char *end,
		    uint32_t *n_r)
{
	if (end - *p < 4)
		return false;
	const unsigned char *b = *p;
	*n_r = (uint32_t)b[0] | ((uint32_t)b[1] << 8) |
		((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
	*p += 4;
	return true;
}

static bool get_str(const unsigned char **p, const unsigned char *end,
		    char **str_r)
{
	uint32_t len;
	if (!get_u32(p, end, &len) || (size_t)(end - *p) < len ||
	    memchr(*p, '\0', len) != NULL)
		return false;
	*str_r = i_strndup(*p, len);
	*p += len;
	return true;
}

static int ipc_parse(const unsigned char *data, size_t size,
		     struct ipc_msg *msg, const char **error_r)
{
	const unsigned char *p = data, *end = data + size;
	uint32_t version, type, count;
	if (!get_u32(&p, end, &version) || !get_u32(&p, end, &type) ||
	    !get_u32(&p, end, &count)) {
		*error_r = "truncated header";
		return -1;
	}
	if (version != IPC_VERSION) {
		*error_r = "version mismatch";
		return -1;
	}
	if (type < 1 || type > IPC_MSG_TYPE_MAX) {
		*error_r = "unknown message type";
		return -1;
	}
	if (count > IPC_MAX_FIELDS) {
		*error_r = "too many fields";
		return -1;
	}
	msg->type = (enum ipc_msg_type)type;
	for (uint32_t i = 0; i < count; i++) {
		struct ipc_field *f = &msg->fields[msg->fields_count];
		if (!get_str(&p, end, &f->key)) {
			*error_r = "bad field key";
			return -1;
		}
		if (!get_str(&p, end, &f->value)) {
			free(f->key);
			*error_r = "bad field value";
			return -1;
		}
		msg->fields_count++;
	}
	if (p != end) {
		*error_r = "trailing bytes";
		return -1;
	}
	return 0;
}

int ipc_recv(int sock, struct ipc_msg **msg_r, const char **error_r)
{
	unsigned char *data = i_malloc(IPC_MAX_MSG_SIZE + 1);
	struct iovec iov = { .iov_base = data, .iov_len = IPC_MAX_MSG_SIZE + 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
	ssize_t ret;

	*error_r = NULL;
	do {
		ret = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (ret < 0 && errno == EINTR);
	if (ret <= 0) {
		free(data);
		if (ret < 0)
			*error_r = strerror(errno);
		return ret < 0 ? -1 : 0;
	}
	struct ipc_msg *msg = ipc_msg_create(0);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
			if (msg->fd < 0)
				msg->fd = fd;
			else
				close(fd);
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		*error_r = "message truncated";
		goto fail;
	}
	if (ipc_parse(data, (size_t)ret, msg, error_r) < 0)
		goto fail;
	free(data);
	*msg_r = msg;
	return 1;
fail:
	free(data);
	ipc_msg_free(&msg);
	errno = EPROTO;
	return -1;
}
