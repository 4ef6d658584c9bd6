/* The master's process bookkeeping (src/master/process-table.c): pid
   lookup, per-service lists and per (service, user, IP) session counts
   stay right through 10,000 sessions coming and going in any order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "master-common.h"

/* service.c/main.c provide this in the real master */
struct master *master;

static unsigned int list_length(const struct service *service)
{
	unsigned int n = 0;
	const struct service_process *prev = NULL;
	for (const struct service_process *p = service->processes; p != NULL;
	     p = p->next) {
		assert_ptr_equal(p->prev, prev);
		assert_ptr_equal(p->service, service);
		prev = p;
		n++;
	}
	return n;
}

static struct service_process *proc_new(pid_t pid, const char *user,
					const char *rip)
{
	struct service_process *p = i_new(struct service_process, 1);
	p->pid = pid;
	p->control_fd = -1;
	p->user = user == NULL ? NULL : i_strdup(user);
	p->rip = rip == NULL ? NULL : i_strdup(rip);
	return p;
}

static void proc_free(struct service_process *p)
{
	free(p->user);
	free(p->rip);
	free(p);
}

static void test_many_sessions(void **state)
{
	enum { N = 10000 };
	struct service imap = { .name = "imap" }, pop3 = { .name = "pop3" };
	struct service_process **procs = i_new(struct service_process *, N);
	char user[32], rip[32];

	for (unsigned int i = 0; i < N; i++) {
		snprintf(user, sizeof(user), "user%u", i % 100);
		snprintf(rip, sizeof(rip), "10.0.%u.%u", i % 7, i % 3);
		procs[i] = proc_new((pid_t)(1000 + i * 3), user, rip);
		service_process_attach(i % 2 == 0 ? &imap : &pop3, procs[i]);
	}
	assert_int_equal(imap.process_count, N / 2);
	assert_int_equal(pop3.process_count, N / 2);
	assert_int_equal(list_length(&imap), N / 2);
	assert_int_equal(list_length(&pop3), N / 2);
	for (unsigned int i = 0; i < N; i++)
		assert_ptr_equal(service_process_lookup((pid_t)(1000 + i * 3)),
				 procs[i]);
	assert_null(service_process_lookup(1001));
	assert_null(service_process_lookup(999999));

	/* counts against a brute-force count */
	for (unsigned int u = 0; u < 100; u += 13) {
		for (unsigned int a = 0; a < 7; a++) {
			snprintf(user, sizeof(user), "user%u", u);
			snprintf(rip, sizeof(rip), "10.0.%u.%u", a, a % 3);
			unsigned int want = 0;
			for (unsigned int i = 0; i < N; i++) {
				if (i % 2 == 0 && strcmp(procs[i]->user, user) == 0 &&
				    strcmp(procs[i]->rip, rip) == 0)
					want++;
			}
			assert_int_equal(service_userip_count(&imap, user, rip), want);
		}
	}
	assert_int_equal(service_userip_count(&imap, "nobody", "10.0.0.0"), 0);

	/* detach every third, in a scrambled order, and check again */
	for (unsigned int k = 0; k < N; k++) {
		unsigned int i = (k * 7919) % N;
		if (i % 3 != 0)
			continue;
		service_process_detach(procs[i]);
		assert_null(service_process_lookup(procs[i]->pid));
		proc_free(procs[i]);
		procs[i] = NULL;
	}
	unsigned int left_imap = 0, left_pop3 = 0;
	for (unsigned int i = 0; i < N; i++) {
		if (procs[i] == NULL)
			continue;
		assert_ptr_equal(service_process_lookup(procs[i]->pid), procs[i]);
		if (i % 2 == 0)
			left_imap++;
		else
			left_pop3++;
	}
	assert_int_equal(imap.process_count, left_imap);
	assert_int_equal(list_length(&imap), left_imap);
	assert_int_equal(list_length(&pop3), left_pop3);
	snprintf(user, sizeof(user), "user%u", 4);
	snprintf(rip, sizeof(rip), "10.0.%u.%u", 4, 1);
	unsigned int want = 0;
	for (unsigned int i = 0; i < N; i++) {
		if (procs[i] != NULL && i % 2 == 0 &&
		    strcmp(procs[i]->user, user) == 0 &&
		    strcmp(procs[i]->rip, rip) == 0)
			want++;
	}
	assert_int_equal(service_userip_count(&imap, user, rip), want);

	/* the rest; a process without user/rip (a login process) too */
	struct service_process *login = proc_new(7, NULL, NULL);
	service_process_attach(&pop3, login);
	assert_ptr_equal(service_process_lookup(7), login);
	for (unsigned int i = 0; i < N; i++) {
		if (procs[i] != NULL) {
			service_process_detach(procs[i]);
			proc_free(procs[i]);
		}
	}
	service_process_detach(login);
	proc_free(login);
	assert_int_equal(imap.process_count, 0);
	assert_int_equal(pop3.process_count, 0);
	assert_null(imap.processes);
	assert_null(pop3.processes);
	assert_int_equal(service_userip_count(&imap, user, rip), 0);
	free(procs);
	process_table_deinit();
}

static void test_same_pid_reused(void **state)
{
	/* a pid comes back after its process was reaped */
	struct service imap = { .name = "imap" };
	struct service_process *a = proc_new(4242, "u", "1.2.3.4");
	service_process_attach(&imap, a);
	assert_int_equal(service_userip_count(&imap, "u", "1.2.3.4"), 1);
	service_process_detach(a);
	proc_free(a);
	assert_null(service_process_lookup(4242));
	assert_int_equal(service_userip_count(&imap, "u", "1.2.3.4"), 0);
	struct service_process *b = proc_new(4242, "u", "1.2.3.4");
	service_process_attach(&imap, b);
	assert_ptr_equal(service_process_lookup(4242), b);
	assert_int_equal(service_userip_count(&imap, "u", "1.2.3.4"), 1);
	/* user and IP are one key, not a concatenation */
	assert_int_equal(service_userip_count(&imap, "u1", ".2.3.4"), 0);
	service_process_detach(b);
	proc_free(b);
	process_table_deinit();
}

static void test_sessions_in_one_process(void **state)
{
	/* service imap with client_limit > 1: one process, several sessions
	   of its user, each counted for its IP until it ends or the
	   process is gone */
	struct service imap = { .name = "imap" };
	struct service_process *p = proc_new(777, "u", NULL);
	service_process_attach(&imap, p);
	assert_int_equal(service_userip_count(&imap, "u", "10.0.0.1"), 0);
	service_process_session_add(p, "s1", "10.0.0.1");
	service_process_session_add(p, "s2", "10.0.0.1");
	service_process_session_add(p, "s3", "10.0.0.2");
	service_process_session_add(p, "s4", NULL);
	assert_int_equal(p->sessions_count, 4);
	assert_int_equal(service_userip_count(&imap, "u", "10.0.0.1"), 2);
	assert_int_equal(service_userip_count(&imap, "u", "10.0.0.2"), 1);
	assert_true(service_process_session_remove(p, "s1"));
	assert_false(service_process_session_remove(p, "s1"));
	assert_false(service_process_session_remove(p, "nope"));
	assert_int_equal(service_userip_count(&imap, "u", "10.0.0.1"), 1);
	assert_true(service_process_session_remove(p, "s4"));
	assert_int_equal(p->sessions_count, 2);
	/* the process dies with two sessions: both stop counting */
	service_process_detach(p);
	assert_int_equal(p->sessions_count, 0);
	assert_int_equal(service_userip_count(&imap, "u", "10.0.0.1"), 0);
	assert_int_equal(service_userip_count(&imap, "u", "10.0.0.2"), 0);
	assert_int_equal(imap.process_count, 0);
	proc_free(p);
	process_table_deinit();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_sessions),
		cmocka_unit_test(test_same_pid_reused),
		cmocka_unit_test(test_sessions_in_one_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
