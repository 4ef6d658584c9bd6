#ifndef LOFT_SMTP_DATA_H
#define LOFT_SMTP_DATA_H
/* Resumable reader for the DATA payload (RFC 5321 4.1.1.4, 4.5.2):
   removes dot-stuffing, finds the terminating "CRLF.CRLF" and hands out
   the message with CRLF line ends. A bare LF is taken as a line end
   (written out as CRLF) and ".LF" also ends the data, as Dovecot
   tolerates; a bare CR inside a line is kept as it is.

   Size limit: once the unstuffed message would exceed max_size, the
   reader stops storing (the rest is read and thrown away up to the
   terminator so that the connection stays in step) and
   smtp_data_reader_too_large() turns true; the caller then answers
   552 5.3.4. */
#include "lib.h"

/* Hard cap used when the configured limit is 0 (unlimited): a message is
   held in memory until it is saved. */
#define SMTP_DATA_MAX_SIZE_CAP (256ULL * 1024 * 1024)

struct smtp_data_reader;

/* max_size: bytes of the message after unstuffing, CRLF line ends;
   0 = SMTP_DATA_MAX_SIZE_CAP. */
struct smtp_data_reader *smtp_data_reader_create(uint64_t max_size);
void smtp_data_reader_destroy(struct smtp_data_reader **reader);

/* Feed bytes that follow the 354 reply. Appends message bytes to out.
   Returns 1 when the terminator was found (*consumed_r bytes were used,
   anything after belongs to the next command), 0 when all of data was
   used and more is needed. */
int smtp_data_reader_feed(struct smtp_data_reader *reader,
			  const void *data, size_t size,
			  size_t *consumed_r, string_t *out);
bool smtp_data_reader_too_large(const struct smtp_data_reader *reader);
/* Message bytes seen so far (also those thrown away after too_large). */
uint64_t smtp_data_reader_size(const struct smtp_data_reader *reader);

#endif
