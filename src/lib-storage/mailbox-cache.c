/* The parse-result cache of a mailbox view (ENVELOPE, BODYSTRUCTURE,
   header fields for SEARCH, ...), kept in the index's cache table.

   Writes are batched (cache_pending): a FETCH or SEARCH over many
   messages would otherwise commit (and write the WAL) once per value.

   Reads of one field over many messages (SEARCH FROM, FETCH 1:*
   (ENVELOPE)) come in runs: after CACHE_RUN_AFTER single lookups of a
   field since the last sync, its values for the UIDs from the one asked
   for onwards are read with one statement (the cache table is ordered by
   mailbox, uid, field: one pass instead of a B-tree descent and a
   statement per message). Runs hold what the index had when they were
   read; they are dropped at every sync, and when pending values are
   written a run stops covering their UIDs (a lookup there reads the
   table), so a lookup never misses a value this session wrote. */
#include "storage-private.h"
#include <stdlib.h>
#include <string.h>

#define CACHE_PENDING_MAX 256
/* single lookups of a field (since the last sync) before runs */
#define CACHE_RUN_AFTER 8
/* values per run: bounds the memory of a run over a big mailbox (the
   whole header block is one field, a few kB per message) */
#define CACHE_RUN_MAX_BYTES (512 * 1024)

static struct mailbox_cache_pending *
cache_pending_find(struct mailbox *box, uint32_t uid, const char *field)
{
	for (unsigned int i = box->cache_pending_count; i > 0; i--) {
		struct mailbox_cache_pending *p = &box->cache_pending[i - 1];
		if (p->uid == uid && strcmp(p->field, field) == 0)
			return p;
	}
	return NULL;
}

static void cache_run_clear(struct mailbox_cache_run *run)
{
	index_cache_values_free(&run->values, run->count);
	run->count = 0;
	run->loaded = false;
}

void mailbox_cache_runs_reset(struct mailbox *box)
{
	for (unsigned int i = 0; i < N_ELEMENTS(box->cache_runs); i++) {
		struct mailbox_cache_run *run = &box->cache_runs[i];
		cache_run_clear(run);
		i_free(run->field);
		run->lookups = 0;
	}
}

/* The run slot of field; a new one replaces the least used slot. */
static struct mailbox_cache_run *
cache_run_slot(struct mailbox *box, const char *field)
{
	struct mailbox_cache_run *run, *least = &box->cache_runs[0];

	for (unsigned int i = 0; i < N_ELEMENTS(box->cache_runs); i++) {
		run = &box->cache_runs[i];
		if (run->field != NULL && strcmp(run->field, field) == 0)
			return run;
		if (run->field == NULL ||
		    (least->field != NULL && run->lookups < least->lookups))
			least = run;
	}
	cache_run_clear(least);
	free(least->field);
	least->field = i_strdup(field);
	least->lookups = 0;
	return least;
}

/* 1 and the value (NULL: not cached) if the run covers uid, else 0 */
static int cache_run_find(const struct mailbox_cache_run *run, uint32_t uid,
			  char **value_r)
{
	unsigned int lo = 0, hi = run->count;

	*value_r = NULL;
	if (!run->loaded || uid < run->first_uid || uid > run->last_uid)
		return 0;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (run->values[mid].uid == uid) {
			*value_r = i_strdup(run->values[mid].value);
			break;
		}
		if (run->values[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 1;
}

static void cache_run_load(struct mailbox *box, struct mailbox_cache_run *run,
			   uint32_t first_uid)
{
	cache_run_clear(run);
	box->cache_run_loads++;
	if (index_cache_get_run(box->user, box->id, run->field, first_uid,
				CACHE_RUN_MAX_BYTES, &run->values, &run->count,
				&run->last_uid) < 0)
		return;
	run->first_uid = first_uid;
	run->loaded = true;
}

char *mailbox_cache_get(struct mailbox *box, uint32_t seq, const char *field)
{
	const struct mail_record *r = mailbox_get(box, seq);
	struct mailbox_cache_pending *p;
	struct mailbox_cache_run *run;
	char *value;

	if (r == NULL)
		return NULL;
	p = cache_pending_find(box, r->uid, field);
	if (p != NULL)
		return i_strdup(p->value);
	/* one read transaction for the lookups of a whole command */
	index_db_lazy_read(box->user);
	run = cache_run_slot(box, field);
	if (cache_run_find(run, r->uid, &value) > 0)
		return value;
	/* ascending access only (uid order): a lookup below a run would
	   read the same values again */
	if (++run->lookups > CACHE_RUN_AFTER &&
	    (!run->loaded || r->uid > run->last_uid)) {
		cache_run_load(box, run, r->uid);
		if (cache_run_find(run, r->uid, &value) > 0)
			return value;
	}
	return index_cache_get(box->user, box->id, r->uid, field);
}

/* The run no longer covers UIDs below uid: it keeps what is above. */
static void cache_run_cut_below(struct mailbox_cache_run *run, uint32_t uid)
{
	unsigned int lo = 0, hi = run->count;

	if (uid > run->last_uid) {
		cache_run_clear(run);
		return;
	}
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (run->values[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		for (unsigned int i = 0; i < lo; i++)
			free(run->values[i].value);
		memmove(run->values, run->values + lo,
			(run->count - lo) * sizeof(*run->values));
		run->count -= lo;
	}
	run->first_uid = uid;
}

/* Runs don't have the values written now: each stops covering the UIDs
   up to the highest one written for its field. Lookups go up in UID
   order, so it still covers the ones to come; dropping whole runs made
   the next lookup read the rest of the mailbox again, at every flush:
   quadratic in a first SEARCH of a header over a big mailbox (61 s for
   100,000 messages). */
static void cache_runs_uncover_pending(struct mailbox *box)
{
	for (unsigned int r = 0; r < N_ELEMENTS(box->cache_runs); r++) {
		struct mailbox_cache_run *run = &box->cache_runs[r];
		uint32_t max_uid = 0;
		bool any = false;

		if (!run->loaded)
			continue;
		for (unsigned int i = 0; i < box->cache_pending_count; i++) {
			const struct mailbox_cache_pending *p =
				&box->cache_pending[i];
			if (p->uid >= run->first_uid &&
			    p->uid <= run->last_uid &&
			    strcmp(p->field, run->field) == 0 &&
			    (!any || p->uid > max_uid)) {
				max_uid = p->uid;
				any = true;
			}
		}
		if (!any)
			continue;
		if (max_uid == UINT32_MAX)
			cache_run_clear(run);
		else
			cache_run_cut_below(run, max_uid + 1);
	}
}

void mailbox_cache_flush(struct mailbox *box)
{
	unsigned int i;

	if (box->cache_pending_count == 0)
		return;
	cache_runs_uncover_pending(box);
	/* a cache: if the index is busy or broken, the values are lost */
	if (index_db_begin(box->user, true) == 0) {
		for (i = 0; i < box->cache_pending_count; i++) {
			struct mailbox_cache_pending *p = &box->cache_pending[i];
			index_cache_set(box->user, box->id, p->uid, p->field,
					p->value);
		}
		(void)index_db_commit(box->user);
	}
	for (i = 0; i < box->cache_pending_count; i++) {
		free(box->cache_pending[i].field);
		free(box->cache_pending[i].value);
	}
	box->cache_pending_count = 0;
}

char *mailbox_get_pop3_uidl(struct mailbox *box, uint32_t seq)
{
	return mailbox_cache_get(box, seq, MAILBOX_CACHE_POP3_UIDL);
}

void mailbox_cache_set(struct mailbox *box, uint32_t seq, const char *field,
		       const char *value)
{
	const struct mail_record *r = mailbox_get(box, seq);
	struct mailbox_cache_pending *p;

	if (r == NULL)
		return;
	p = cache_pending_find(box, r->uid, field);
	if (p != NULL) {
		free(p->value);
		p->value = i_strdup(value);
		return;
	}
	if (box->cache_pending_count == CACHE_PENDING_MAX)
		mailbox_cache_flush(box);
	if (box->cache_pending_count == box->cache_pending_alloc) {
		box->cache_pending_alloc = box->cache_pending_alloc == 0 ? 16 :
			box->cache_pending_alloc * 2;
		box->cache_pending = i_realloc(box->cache_pending,
			box->cache_pending_alloc * sizeof(*box->cache_pending));
	}
	p = &box->cache_pending[box->cache_pending_count++];
	p->uid = r->uid;
	p->field = i_strdup(field);
	p->value = i_strdup(value);
}
