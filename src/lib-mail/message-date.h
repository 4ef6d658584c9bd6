#ifndef LOFT_MESSAGE_DATE_H
#define LOFT_MESSAGE_DATE_H
/* RFC 5322 3.3 date-time parsing, including the obsolete forms of
   4.3: optional day-of-week and seconds, 2/3-digit years, alphabetic
   zones (UT, GMT, EST ... and military letters, taken as +0000),
   comments and folding whitespace anywhere. */
#include "lib.h"
#include <time.h>

struct message_date {
	int year, month, day;      /* month 1..12 */
	int hour, min, sec;
	int tz_offset;             /* minutes east of UTC */
};

/* Parse the value of a Date: field. Returns 0 on success, -1 if it is
   not a date. */
int message_date_parse(const void *data, size_t size,
		       struct message_date *date_r);
/* UTC time of the parsed date. */
time_t message_date_to_utc(const struct message_date *date);
/* The calendar day as written (in the date's own zone), as 00:00 UTC. */
time_t message_date_to_day(const struct message_date *date);

#endif
