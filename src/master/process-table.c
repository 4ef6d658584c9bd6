/* The master's bookkeeping of its children: each service's process list
   (doubly linked), a pid hash for SIGCHLD, and live mail sessions per
   (service, user, remote IP) for mail_max_userip_connections. Every
   operation is O(1) on average, so 10,000 sessions cost no more per
   login or exit than 10. */
#include "master-common.h"
#include <stdint.h>
#include <stdlib.h>

struct userip_count {
	struct userip_count *next;
	const struct service *service;
	unsigned int count;
	char key[];        /* "user\0rip" */
};

static struct service_process **pid_buckets;
static unsigned int pid_buckets_size, pid_count;
static struct userip_count **userip_buckets;
static unsigned int userip_buckets_size, userip_entries;

static unsigned int pid_hash(pid_t pid)
{
	return (uint32_t)pid * 2654435761u;
}

static void pid_rehash(unsigned int new_size)
{
	struct service_process **buckets =
		i_new(struct service_process *, new_size);
	for (unsigned int i = 0; i < pid_buckets_size; i++) {
		struct service_process *p = pid_buckets[i], *next;
		for (; p != NULL; p = next) {
			next = p->hash_next;
			unsigned int b = pid_hash(p->pid) % new_size;
			p->hash_next = buckets[b];
			buckets[b] = p;
		}
	}
	free(pid_buckets);
	pid_buckets = buckets;
	pid_buckets_size = new_size;
}

static uint32_t userip_hash(const struct service *service, const char *user,
			    const char *rip)
{
	/* FNV-1a over both strings and the service pointer */
	uint32_t h = 2166136261u ^ (uint32_t)(uintptr_t)service;
	for (const char *p = user; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *p = rip; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static struct userip_count **
userip_lookup(const struct service *service, const char *user, const char *rip)
{
	if (userip_buckets_size == 0)
		return NULL;
	uint32_t b = userip_hash(service, user, rip) % userip_buckets_size;
	size_t ulen = strlen(user);
	struct userip_count **pp = &userip_buckets[b];
	for (; *pp != NULL; pp = &(*pp)->next) {
		struct userip_count *u = *pp;
		if (u->service == service && strcmp(u->key, user) == 0 &&
		    strcmp(u->key + ulen + 1, rip) == 0)
			return pp;
	}
	return pp;
}

static void userip_rehash(unsigned int new_size)
{
	struct userip_count **buckets = i_new(struct userip_count *, new_size);
	for (unsigned int i = 0; i < userip_buckets_size; i++) {
		struct userip_count *u = userip_buckets[i], *next;
		for (; u != NULL; u = next) {
			next = u->next;
			const char *rip = u->key + strlen(u->key) + 1;
			uint32_t b = userip_hash(u->service, u->key, rip) % new_size;
			u->next = buckets[b];
			buckets[b] = u;
		}
	}
	free(userip_buckets);
	userip_buckets = buckets;
	userip_buckets_size = new_size;
}

static void userip_add(const struct service *service, const char *user,
		       const char *rip)
{
	if (userip_entries >= userip_buckets_size)
		userip_rehash(userip_buckets_size == 0 ? 64 :
			      userip_buckets_size * 2);
	struct userip_count **pp = userip_lookup(service, user, rip);
	if (*pp == NULL) {
		size_t ulen = strlen(user), rlen = strlen(rip);
		struct userip_count *u = i_calloc(1, sizeof(*u) + ulen + rlen + 2);
		u->service = service;
		memcpy(u->key, user, ulen + 1);
		memcpy(u->key + ulen + 1, rip, rlen + 1);
		*pp = u;
		userip_entries++;
	}
	(*pp)->count++;
}

static void userip_remove(const struct service *service, const char *user,
			  const char *rip)
{
	struct userip_count **pp = userip_lookup(service, user, rip);
	if (pp == NULL || *pp == NULL)
		return;
	struct userip_count *u = *pp;
	if (--u->count == 0) {
		*pp = u->next;
		free(u);
		userip_entries--;
	}
}

unsigned int service_userip_count(const struct service *service,
				  const char *user, const char *rip)
{
	struct userip_count **pp = userip_lookup(service, user, rip);
	return pp == NULL || *pp == NULL ? 0 : (*pp)->count;
}

void service_process_attach(struct service *service,
			    struct service_process *proc)
{
	proc->service = service;
	proc->prev = NULL;
	proc->next = service->processes;
	if (proc->next != NULL)
		proc->next->prev = proc;
	service->processes = proc;
	service->process_count++;

	if (pid_count >= pid_buckets_size)
		pid_rehash(pid_buckets_size == 0 ? 64 : pid_buckets_size * 2);
	unsigned int b = pid_hash(proc->pid) % pid_buckets_size;
	proc->hash_next = pid_buckets[b];
	pid_buckets[b] = proc;
	pid_count++;

	if (proc->user != NULL && proc->rip != NULL)
		userip_add(service, proc->user, proc->rip);
}

void service_process_detach(struct service_process *proc)
{
	struct service *service = proc->service;

	if (proc->prev != NULL)
		proc->prev->next = proc->next;
	else
		service->processes = proc->next;
	if (proc->next != NULL)
		proc->next->prev = proc->prev;
	proc->prev = proc->next = NULL;
	service->process_count--;

	unsigned int b = pid_hash(proc->pid) % pid_buckets_size;
	struct service_process **pp = &pid_buckets[b];
	for (; *pp != NULL; pp = &(*pp)->hash_next) {
		if (*pp == proc) {
			*pp = proc->hash_next;
			pid_count--;
			break;
		}
	}
	proc->hash_next = NULL;

	if (proc->user != NULL && proc->rip != NULL)
		userip_remove(service, proc->user, proc->rip);
	for (unsigned int i = 0; i < proc->sessions_count; i++) {
		struct service_session *ss = &proc->sessions[i];
		if (proc->user != NULL && ss->rip != NULL)
			userip_remove(service, proc->user, ss->rip);
		free(ss->id);
		free(ss->rip);
	}
	i_free(proc->sessions);
	proc->sessions_count = proc->sessions_alloc = 0;
}

void service_process_session_add(struct service_process *proc,
				 const char *id, const char *rip)
{
	if (proc->sessions_count == proc->sessions_alloc) {
		proc->sessions_alloc = proc->sessions_alloc == 0 ? 4 :
			proc->sessions_alloc * 2;
		proc->sessions = i_realloc(proc->sessions,
			sizeof(*proc->sessions) * proc->sessions_alloc);
	}
	struct service_session *ss = &proc->sessions[proc->sessions_count++];
	ss->id = i_strdup(id == NULL ? "" : id);
	ss->rip = rip == NULL || rip[0] == '\0' ? NULL : i_strdup(rip);
	if (proc->user != NULL && ss->rip != NULL)
		userip_add(proc->service, proc->user, ss->rip);
}

bool service_process_session_remove(struct service_process *proc,
				    const char *id)
{
	for (unsigned int i = 0; i < proc->sessions_count; i++) {
		struct service_session *ss = &proc->sessions[i];
		if (strcmp(ss->id, id) != 0)
			continue;
		if (proc->user != NULL && ss->rip != NULL)
			userip_remove(proc->service, proc->user, ss->rip);
		free(ss->id);
		free(ss->rip);
		proc->sessions[i] = proc->sessions[--proc->sessions_count];
		return true;
	}
	return false;
}

struct service_process *service_process_lookup(pid_t pid)
{
	if (pid_buckets_size == 0)
		return NULL;
	struct service_process *p = pid_buckets[pid_hash(pid) % pid_buckets_size];
	while (p != NULL && p->pid != pid)
		p = p->hash_next;
	return p;
}

void process_table_deinit(void)
{
	for (unsigned int i = 0; i < userip_buckets_size; i++) {
		struct userip_count *u = userip_buckets[i], *next;
		for (; u != NULL; u = next) {
			next = u->next;
			free(u);
		}
	}
	i_free(userip_buckets);
	userip_buckets_size = userip_entries = 0;
	i_free(pid_buckets);
	pid_buckets_size = pid_count = 0;
}
