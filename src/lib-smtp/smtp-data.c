/* DATA payload reader: see smtp-data.h. */
#include "smtp-data.h"
#include <stdlib.h>

enum smtp_data_state {
	DATA_STATE_LINE_START = 0,
	DATA_STATE_IN_LINE,
	DATA_STATE_CR,      /* CR seen inside a line */
	DATA_STATE_DOT,     /* line began with '.' */
	DATA_STATE_DOT_CR,  /* ".CR" at line start */
	DATA_STATE_DONE,
};

struct smtp_data_reader {
	uint64_t max_size;
	uint64_t size;
	enum smtp_data_state state;
	bool too_large;
};

struct smtp_data_reader *smtp_data_reader_create(uint64_t max_size)
{
	struct smtp_data_reader *reader = i_new(struct smtp_data_reader, 1);

	reader->max_size = max_size == 0 || max_size > SMTP_DATA_MAX_SIZE_CAP ?
		SMTP_DATA_MAX_SIZE_CAP : max_size;
	return reader;
}

void smtp_data_reader_destroy(struct smtp_data_reader **_reader)
{
	free(*_reader);
	*_reader = NULL;
}

static void data_out(struct smtp_data_reader *reader, string_t *out,
		     const void *data, size_t size)
{
	reader->size += size;
	if (reader->size > reader->max_size)
		reader->too_large = true;
	if (!reader->too_large)
		str_append_n(out, data, size);
}

/* Copy the run of ordinary bytes at p (no CR/LF); returns its length. */
static size_t data_span(struct smtp_data_reader *reader, string_t *out,
			const unsigned char *p, const unsigned char *end)
{
	const unsigned char *q = p;

	while (q < end && *q != '\r' && *q != '\n')
		q++;
	if (q > p)
		data_out(reader, out, p, q - p);
	return q - p;
}

int smtp_data_reader_feed(struct smtp_data_reader *reader,
			  const void *data, size_t size,
			  size_t *consumed_r, string_t *out)
{
	const unsigned char *p = data, *end = p + size;

	while (p < end && reader->state != DATA_STATE_DONE) {
		unsigned char c = *p;

		switch (reader->state) {
		case DATA_STATE_LINE_START:
			if (c == '.') {
				reader->state = DATA_STATE_DOT;
				p++;
				break;
			}
			reader->state = DATA_STATE_IN_LINE;
			/* fall through */
		case DATA_STATE_IN_LINE:
			if (c == '\r') {
				reader->state = DATA_STATE_CR;
				p++;
			} else if (c == '\n') {
				data_out(reader, out, "\r\n", 2);
				reader->state = DATA_STATE_LINE_START;
				p++;
			} else {
				p += data_span(reader, out, p, end);
			}
			break;
		case DATA_STATE_CR:
			if (c == '\n') {
				data_out(reader, out, "\r\n", 2);
				reader->state = DATA_STATE_LINE_START;
				p++;
			} else {
				/* bare CR: keep it, reprocess c in the line */
				data_out(reader, out, "\r", 1);
				reader->state = DATA_STATE_IN_LINE;
			}
			break;
		case DATA_STATE_DOT:
			if (c == '\r') {
				reader->state = DATA_STATE_DOT_CR;
				p++;
			} else if (c == '\n') {
				reader->state = DATA_STATE_DONE;
				p++;
			} else {
				/* the leading dot was stuffing: drop it */
				reader->state = DATA_STATE_IN_LINE;
			}
			break;
		case DATA_STATE_DOT_CR:
			if (c == '\n') {
				reader->state = DATA_STATE_DONE;
				p++;
			} else {
				/* ".CR" then something else: a bare CR after
				   an (unstuffed) dot */
				reader->state = DATA_STATE_CR;
			}
			break;
		case DATA_STATE_DONE:
			break;
		}
	}
	*consumed_r = p - (const unsigned char *)data;
	return reader->state == DATA_STATE_DONE ? 1 : 0;
}

bool smtp_data_reader_too_large(const struct smtp_data_reader *reader)
{
	return reader->too_large;
}

uint64_t smtp_data_reader_size(const struct smtp_data_reader *reader)
{
	return reader->size;
}
