/* Virtual sizes (the size with CRLF line endings: RFC822.SIZE, POP3
   LIST) computed at the first need, as Dovecot does. A file whose name
   has no W= (and whose dovecot-uidlist record has no W field) gets
   INDEX_VSIZE_UNKNOWN at the sync, which doesn't read it: reading every
   file made the first SELECT of a big Maildir several times slower.
   The first user of a vsize reads the file once; the value goes into
   the view and, batched, into the index, so neither this session nor a
   later one reads the file again for it. */
#include "storage-private.h"
#include <stdlib.h>

/* vsizes written per transaction (a FETCH 1:* RFC822.SIZE of a cold
   mailbox computes one per message) */
#define VSIZE_PENDING_MAX 1024
/* index lookups that found no vsize (since the last sync or batch
   written) after which a session stops looking: nobody else is
   computing them. A lookup was 12% of a FETCH 1:* RFC822.SIZE of a
   cold 100k mailbox (perf), for nothing unless another session had
   just read the same files. */
#define VSIZE_LOOKUP_MISSES_MAX 64

void mailbox_vsize_flush(struct mailbox *box)
{
	unsigned int i;

	box->vsize_lookup_misses = 0;
	if (box->vsize_pending_count == 0)
		return;
	/* if the index is busy or broken the values are lost: the next
	   need computes them again */
	if (index_db_begin(box->user, true) == 0) {
		for (i = 0; i < box->vsize_pending_count; i++) {
			struct mailbox_vsize_pending *p = &box->vsize_pending[i];
			(void)index_msg_set_vsize(box->user, box->id, p->uid,
						  p->guid, p->vsize);
		}
		(void)index_db_commit(box->user);
	}
	for (i = 0; i < box->vsize_pending_count; i++)
		free(box->vsize_pending[i].guid);
	box->vsize_pending_count = 0;
}

void mailbox_vsize_learned(struct mailbox *box, struct view_rec *vr,
			   uint64_t vsize)
{
	struct mailbox_vsize_pending *p;

	vr->vsize = vsize;
	if (box->vsize_pending_count == VSIZE_PENDING_MAX)
		mailbox_vsize_flush(box);
	if (box->vsize_pending_count == box->vsize_pending_alloc) {
		box->vsize_pending_alloc = box->vsize_pending_alloc == 0 ? 64 :
			box->vsize_pending_alloc * 2;
		box->vsize_pending = i_realloc(box->vsize_pending,
			box->vsize_pending_alloc * sizeof(*box->vsize_pending));
	}
	p = &box->vsize_pending[box->vsize_pending_count++];
	p->uid = vr->rec.uid;
	p->guid = i_strdup(vr->guid);
	p->vsize = vsize;
}

int mailbox_view_rec_vsize(struct mailbox *box, struct view_rec *vr,
			   uint64_t *vsize_r, const char **error_r)
{
	uint64_t vsize;
	char *data;
	size_t size;

	if (vr->vsize == INDEX_VSIZE_UNKNOWN &&
	    box->vsize_lookup_misses < VSIZE_LOOKUP_MISSES_MAX) {
		/* another session may have computed it since the view
		   read the row (a point lookup, cheaper than the file) */
		index_db_lazy_read(box->user);
		if (index_msg_get_vsize(box->user, box->id, vr->rec.uid,
					vr->guid, &vsize) > 0 &&
		    vsize != INDEX_VSIZE_UNKNOWN) {
			vr->vsize = vsize;
			box->vsize_lookup_misses = 0;
		} else {
			box->vsize_lookup_misses++;
		}
	}
	if (vr->vsize == INDEX_VSIZE_UNKNOWN) {
		if (mailbox_view_rec_read(box, vr, &data, &size, error_r) < 0)
			return -1;
		box->user->vsize_reads++;
		mailbox_vsize_learned(box, vr, maildir_crlf_size(
			(const unsigned char *)data, size));
		free(data);
	}
	*vsize_r = vr->vsize;
	return 0;
}

int mailbox_get_vsize(struct mailbox *box, uint32_t seq, uint64_t *vsize_r,
		      const char **error_r)
{
	*vsize_r = 0;
	if (seq == 0 || seq > box->count) {
		*error_r = "Invalid message sequence";
		return -1;
	}
	return mailbox_view_rec_vsize(box, &box->recs[seq - 1], vsize_r,
				      error_r);
}

void mailbox_write_cached(struct mailbox *box)
{
	mailbox_cache_flush(box);
	mailbox_vsize_flush(box);
	index_db_lazy_end(box->user);
}
