#include "lib.h"
#include <stdlib.h>
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/random.h>

static void ATTR_NORETURN out_of_memory(size_t size)
{
	fprintf(stderr, "Fatal: out of memory allocating %zu bytes\n", size);
	abort();
}

void *i_malloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *i_calloc(size_t count, size_t size)
{
	void *p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(count * size);
	return p;
}

void *i_realloc(void *mem, size_t size)
{
	void *p = realloc(mem, size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

char *i_strdup(const char *s)
{
	return s == NULL ? NULL : i_strndup(s, strlen(s));
}

char *i_strndup(const void *s, size_t n)
{
	char *p = i_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *i_memdup(const void *data, size_t size)
{
	void *p = i_malloc(size);
	memcpy(p, data, size);
	return p;
}

char *i_strdup_vprintf(const char *fmt, va_list args)
{
	char *p;
	if (vasprintf(&p, fmt, args) < 0)
		out_of_memory(strlen(fmt));
	return p;
}

char *i_strdup_printf(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *p = i_strdup_vprintf(fmt, args);
	va_end(args);
	return p;
}

string_t *str_new(size_t initial_size)
{
	string_t *str = i_new(string_t, 1);
	str->alloc = initial_size < 16 ? 16 : initial_size;
	str->data = i_malloc(str->alloc);
	str->data[0] = '\0';
	return str;
}

void str_free(string_t **_str)
{
	string_t *str = *_str;
	if (str == NULL)
		return;
	*_str = NULL;
	free(str->data);
	free(str);
}

char *str_free_without_data(string_t **_str)
{
	string_t *str = *_str;
	char *data = str->data;
	*_str = NULL;
	free(str);
	return data;
}

static void str_reserve(string_t *str, size_t extra)
{
	if (str->len + extra + 1 <= str->alloc)
		return;
	size_t want = str->len + extra + 1;
	size_t n = str->alloc * 2;
	while (n < want)
		n *= 2;
	str->data = i_realloc(str->data, n);
	str->alloc = n;
}

void str_append_n(string_t *str, const void *data, size_t size)
{
	str_reserve(str, size);
	memcpy(str->data + str->len, data, size);
	str->len += size;
	str->data[str->len] = '\0';
}

void str_append(string_t *str, const char *s)
{
	str_append_n(str, s, strlen(s));
}

void str_append_c(string_t *str, char c)
{
	/* hot in per-byte loops (casefolding, decoding): no memcpy call */
	if (str->len + 2 > str->alloc)
		str_reserve(str, 1);
	str->data[str->len++] = c;
	str->data[str->len] = '\0';
}

void str_vprintfa(string_t *str, const char *fmt, va_list args)
{
	va_list args2;
	va_copy(args2, args);
	int n = vsnprintf(str->data + str->len, str->alloc - str->len, fmt, args);
	if (n < 0) {
		va_end(args2);
		return;
	}
	if ((size_t)n >= str->alloc - str->len) {
		str_reserve(str, (size_t)n);
		vsnprintf(str->data + str->len, str->alloc - str->len, fmt, args2);
	}
	va_end(args2);
	str->len += (size_t)n;
}

void str_printfa(string_t *str, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	str_vprintfa(str, fmt, args);
	va_end(args);
}

void str_truncate(string_t *str, size_t len)
{
	if (len < str->len) {
		str->len = len;
		str->data[len] = '\0';
	}
}

void str_delete(string_t *str, size_t pos, size_t len)
{
	if (pos >= str->len)
		return;
	if (len > str->len - pos)
		len = str->len - pos;
	memmove(str->data + pos, str->data + pos + len, str->len - pos - len + 1);
	str->len -= len;
}

bool str_begins(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_begins_icase(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

char **str_split(const char *s, const char *seps)
{
	unsigned int count = 1;
	for (const char *p = s; *p != '\0'; p++) {
		if (strchr(seps, *p) != NULL)
			count++;
	}
	char **arr = i_new(char *, count + 1);
	unsigned int i = 0;
	const char *start = s;
	for (const char *p = s;; p++) {
		if (*p == '\0' || strchr(seps, *p) != NULL) {
			arr[i++] = i_strndup(start, (size_t)(p - start));
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	arr[i] = NULL;
	return arr;
}

void str_split_free(char ***_arr)
{
	char **arr = *_arr;
	if (arr == NULL)
		return;
	for (unsigned int i = 0; arr[i] != NULL; i++)
		free(arr[i]);
	free(arr);
	*_arr = NULL;
}

unsigned int str_array_length(char *const *arr)
{
	unsigned int n = 0;
	while (arr != NULL && arr[n] != NULL)
		n++;
	return n;
}

int str_to_uint64(const char *s, uint64_t *num_r)
{
	uint64_t n = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned int d = (unsigned int)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*num_r = n;
	return 0;
}

int str_to_uint32(const char *s, uint32_t *num_r)
{
	uint64_t n;
	if (str_to_uint64(s, &n) < 0 || n > UINT32_MAX)
		return -1;
	*num_r = (uint32_t)n;
	return 0;
}

void str_lcase(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

void str_ucase(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)toupper((unsigned char)*s);
}

bool mem_equals_timing_safe(const void *a, const void *b, size_t size)
{
	const volatile unsigned char *p1 = a, *p2 = b;
	unsigned char diff = 0;
	for (size_t i = 0; i < size; i++)
		diff |= p1[i] ^ p2[i];
	return diff == 0;
}

void safe_memset(void *p, int c, size_t size)
{
	volatile unsigned char *v = p;
	while (size-- > 0)
		*v++ = (unsigned char)c;
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(const void *_src, size_t size, string_t *dest)
{
	const unsigned char *src = _src;
	size_t i;
	for (i = 0; i + 2 < size; i += 3) {
		char out[4] = {
			b64chars[src[i] >> 2],
			b64chars[((src[i] & 3) << 4) | (src[i + 1] >> 4)],
			b64chars[((src[i + 1] & 0xf) << 2) | (src[i + 2] >> 6)],
			b64chars[src[i + 2] & 0x3f] };
		str_append_n(dest, out, 4);
	}
	if (i < size) {
		char out[4];
		out[0] = b64chars[src[i] >> 2];
		if (i + 1 < size) {
			out[1] = b64chars[((src[i] & 3) << 4) | (src[i + 1] >> 4)];
			out[2] = b64chars[(src[i + 1] & 0xf) << 2];
		} else {
			out[1] = b64chars[(src[i] & 3) << 4];
			out[2] = '=';
		}
		out[3] = '=';
		str_append_n(dest, out, 4);
	}
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int base64_decode(const char *src, size_t size, string_t *dest)
{
	unsigned int acc = 0, bits = 0;
	size_t i, pad = 0;
	for (i = 0; i < size; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0)
			return -1;
		int v = b64val(c);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			str_append_c(dest, (char)((acc >> bits) & 0xff));
		}
	}
	if (pad > 2 || (size % 4 != 0 && pad > 0))
		return -1;
	return 0;
}

int write_full(int fd, const void *data, size_t size)
{
	const unsigned char *p = data;
	while (size > 0) {
		ssize_t ret = write(fd, p, size);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += ret;
		size -= (size_t)ret;
	}
	return 0;
}

int read_file(const char *path, size_t max_size, char **data_r, size_t *size_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	string_t *str = str_new(4096);
	char buf[8192];
	for (;;) {
		ssize_t ret = read(fd, buf, sizeof(buf));
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			str_free(&str);
			errno = saved;
			return -1;
		}
		if (ret == 0)
			break;
		if (str_len(str) + (size_t)ret > max_size) {
			close(fd);
			str_free(&str);
			errno = EFBIG;
			return -1;
		}
		str_append_n(str, buf, (size_t)ret);
	}
	close(fd);
	*size_r = str_len(str);
	*data_r = str_free_without_data(&str);
	return 0;
}

uint64_t time_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *session_id_new(void)
{
	unsigned char rnd[16];
	string_t *str = str_new(32);

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		fprintf(stderr, "Fatal: getrandom() failed\n");
		abort();
	}
	base64_encode(rnd, sizeof(rnd), str);
	str_truncate(str, 22); /* no "==" */
	for (size_t i = 0; i < str_len(str); i++) {
		if (str->data[i] == '/')
			str->data[i] = '_';
		else if (str->data[i] == '+')
			str->data[i] = '-';
	}
	return str_free_without_data(&str);
}
