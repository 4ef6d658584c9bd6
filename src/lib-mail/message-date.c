/* RFC 5322 date parsing (see message-date.h). */
#include "message-date.h"
#include "rfc822-parser.h"
#include <strings.h>
#include <ctype.h>

static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const struct {
	const char *name;
	int offset; /* minutes */
} zone_names[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
	{ "EST", -5 * 60 }, { "EDT", -4 * 60 },
	{ "CST", -6 * 60 }, { "CDT", -5 * 60 },
	{ "MST", -7 * 60 }, { "MDT", -6 * 60 },
	{ "PST", -8 * 60 }, { "PDT", -7 * 60 },
};

struct date_tok {
	const unsigned char *p, *end;
};

static void skip_cfws(struct date_tok *t)
{
	struct rfc822_parser parser;

	rfc822_parser_init(&parser, t->p, t->end - t->p, NULL);
	(void)rfc822_skip_lwsp(&parser);
	t->p = parser.data;
}

/* next run of digits; returns the count of digits (0 if none) */
static unsigned int get_number(struct date_tok *t, int *num_r)
{
	unsigned int n = 0;
	long v = 0;

	skip_cfws(t);
	while (t->p < t->end && isdigit(*t->p)) {
		if (n < 9)
			v = v * 10 + (*t->p - '0');
		n++;
		t->p++;
	}
	*num_r = (int)v;
	return n;
}

static size_t get_word(struct date_tok *t, char *buf, size_t bufsize)
{
	size_t n = 0;

	skip_cfws(t);
	while (t->p < t->end && isalpha(*t->p)) {
		if (n + 1 < bufsize)
			buf[n++] = (char)*t->p;
		t->p++;
	}
	buf[n] = '\0';
	return n;
}

static bool parse_zone(struct date_tok *t, int *offset_r)
{
	char word[16];

	skip_cfws(t);
	*offset_r = 0;
	if (t->p >= t->end)
		return true; /* missing zone: assume UTC */
	if (*t->p == '+' || *t->p == '-') {
		bool neg = *t->p == '-';
		int v = 0, i;

		t->p++;
		for (i = 0; i < 4; i++) {
			if (t->p >= t->end || !isdigit(*t->p))
				return false;
			v = v * 10 + (*t->p++ - '0');
		}
		*offset_r = (v / 100) * 60 + v % 100;
		if (neg)
			*offset_r = -*offset_r;
		return true;
	}
	if (get_word(t, word, sizeof(word)) == 0)
		return false;
	for (unsigned int i = 0; i < N_ELEMENTS(zone_names); i++) {
		if (strcasecmp(word, zone_names[i].name) == 0) {
			*offset_r = zone_names[i].offset;
			return true;
		}
	}
	/* military zones and anything else unknown: +0000 (RFC 5322 4.3) */
	return true;
}

int message_date_parse(const void *data, size_t size,
		       struct message_date *date_r)
{
	struct date_tok t = { data, (const unsigned char *)data + size };
	struct date_tok save;
	char word[16];
	unsigned int digits;
	int num;

	memset(date_r, 0, sizeof(*date_r));
	/* [day-of-week ","] */
	save = t;
	if (get_word(&t, word, sizeof(word)) > 0) {
		skip_cfws(&t);
		if (t.p < t.end && *t.p == ',')
			t.p++;
	} else {
		t = save;
	}
	if (get_number(&t, &date_r->day) == 0 || date_r->day < 1 ||
	    date_r->day > 31)
		return -1;
	if (get_word(&t, word, sizeof(word)) == 0)
		return -1;
	for (date_r->month = 0; date_r->month < 12; date_r->month++) {
		if (strncasecmp(word, month_names[date_r->month], 3) == 0)
			break;
	}
	if (date_r->month == 12)
		return -1;
	date_r->month++;
	digits = get_number(&t, &date_r->year);
	if (digits == 0)
		return -1;
	if (digits <= 2)
		date_r->year += date_r->year < 50 ? 2000 : 1900;
	else if (digits == 3)
		date_r->year += 1900;
	if (date_r->year < 1900 || date_r->year > 9999)
		return -1;
	if (get_number(&t, &date_r->hour) == 0 || date_r->hour > 23)
		return -1;
	skip_cfws(&t);
	if (t.p >= t.end || *t.p != ':')
		return -1;
	t.p++;
	if (get_number(&t, &date_r->min) == 0 || date_r->min > 59)
		return -1;
	skip_cfws(&t);
	if (t.p < t.end && *t.p == ':') {
		t.p++;
		if (get_number(&t, &num) == 0 || num > 60)
			return -1;
		date_r->sec = num;
	}
	if (!parse_zone(&t, &date_r->tz_offset))
		return -1;
	return 0;
}

time_t message_date_to_day(const struct message_date *date)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = date->year - 1900;
	tm.tm_mon = date->month - 1;
	tm.tm_mday = date->day;
	return timegm(&tm);
}

time_t message_date_to_utc(const struct message_date *date)
{
	return message_date_to_day(date) + date->hour * 3600 +
		date->min * 60 + date->sec - date->tz_offset * 60;
}
