/* Flags, dates, mailbox name arguments and storage error replies. */
#include "imap-util.h"
#include "imap-quote.h"
#include "imap-utf7.h"
#include "imap-seqset.h"

#include <stdlib.h>
#include <strings.h>
#include <ctype.h>

static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const struct { enum mail_flags flag; const char *name; } system_flags[] = {
	{ MAIL_ANSWERED, "\\Answered" },
	{ MAIL_FLAGGED, "\\Flagged" },
	{ MAIL_DELETED, "\\Deleted" },
	{ MAIL_SEEN, "\\Seen" },
	{ MAIL_DRAFT, "\\Draft" },
	{ MAIL_RECENT, "\\Recent" },
};

void imap_write_flags(string_t *dest, enum mail_flags flags,
		      const char *const *keywords)
{
	size_t start = str_len(dest);

	for (unsigned int i = 0; i < N_ELEMENTS(system_flags); i++) {
		if ((flags & system_flags[i].flag) == 0)
			continue;
		if (str_len(dest) > start)
			str_append_c(dest, ' ');
		str_append(dest, system_flags[i].name);
	}
	for (; keywords != NULL && *keywords != NULL; keywords++) {
		if (str_len(dest) > start)
			str_append_c(dest, ' ');
		str_append(dest, *keywords);
	}
}

uint32_t imap_keywords_hash(const char *const *keywords)
{
	uint32_t sum = 0;

	for (; keywords != NULL && *keywords != NULL; keywords++) {
		uint32_t h = 2166136261u;
		for (const char *p = *keywords; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		sum += h;
	}
	return sum;
}

static bool keyword_is_valid(const char *kw)
{
	if (*kw == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)kw; *p != '\0'; p++) {
		/* atom-char minus '\\' (flag-keyword = atom) */
		if (*p <= ' ' || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return strlen(kw) <= 128;
}

static int parse_one_flag(const struct imap_arg *arg, enum mail_flags *flags,
			  string_t *kws, const char **error_r)
{
	const char *atom;

	if (!imap_arg_get_atom(arg, &atom)) {
		*error_r = "Flags list contains non-atoms.";
		return -1;
	}
	if (atom[0] == '\\') {
		for (unsigned int i = 0; i < N_ELEMENTS(system_flags); i++) {
			if (system_flags[i].flag != MAIL_RECENT &&
			    strcasecmp(atom, system_flags[i].name) == 0) {
				*flags |= system_flags[i].flag;
				return 0;
			}
		}
		*error_r = "Invalid system flag";
		return -1;
	}
	if (!keyword_is_valid(atom)) {
		*error_r = "Invalid characters in keyword";
		return -1;
	}
	if (str_len(kws) > 0)
		str_append_c(kws, ' ');
	str_append(kws, atom);
	return 0;
}

int imap_parse_flags(const struct imap_arg *args, enum mail_flags *flags_r,
		     char ***keywords_r, const char **error_r)
{
	string_t *kws = str_new(64);
	int ret = 0;

	*flags_r = 0;
	for (; args->type != IMAP_ARG_EOL && ret == 0; args++)
		ret = parse_one_flag(args, flags_r, kws, error_r);
	if (ret == 0) {
		*keywords_r = str_len(kws) == 0 ? NULL :
			str_split(str_c(kws), " ");
	}
	str_free(&kws);
	return ret;
}

static int parse_month(const char *s)
{
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(s, month_names[i], 3) == 0)
			return i;
	}
	return -1;
}

static bool parse_digits(const char **p, unsigned int n, int *value_r)
{
	int v = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*value_r = v;
	return true;
}

static time_t utc_mktime(int year, int mon, int day, int h, int m, int s)
{
	struct tm tm = {
		.tm_year = year - 1900, .tm_mon = mon, .tm_mday = day,
		.tm_hour = h, .tm_min = m, .tm_sec = s,
	};
	return timegm(&tm);
}

static bool valid_day(int year, int mon, int day)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (day < 1 || day > mdays[mon])
		return false;
	if (mon == 1 && day == 29)
		return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return true;
}

int imap_parse_date(const char *str, time_t *day_r)
{
	const char *p = str;
	int day, year, mon;

	if (!parse_digits(&p, 1, &day))
		return -1;
	if (isdigit((unsigned char)*p))
		day = day * 10 + (*p++ - '0');
	if (*p++ != '-' || (mon = parse_month(p)) < 0)
		return -1;
	p += 3;
	if (*p++ != '-' || !parse_digits(&p, 4, &year) || *p != '\0')
		return -1;
	if (!valid_day(year, mon, day) || year < 1900)
		return -1;
	*day_r = utc_mktime(year, mon, day, 0, 0, 0);
	return 0;
}

int imap_parse_datetime(const char *str, time_t *time_r)
{
	const char *p = str;
	int day, mon, year, h, m, s, zh, zm;
	char sign;

	if (*p == ' ')
		p++;
	if (!parse_digits(&p, 1, &day))
		return -1;
	if (isdigit((unsigned char)*p))
		day = day * 10 + (*p++ - '0');
	if (*p++ != '-' || (mon = parse_month(p)) < 0)
		return -1;
	p += 3;
	if (*p++ != '-' || !parse_digits(&p, 4, &year) || *p++ != ' ' ||
	    !parse_digits(&p, 2, &h) || *p++ != ':' ||
	    !parse_digits(&p, 2, &m) || *p++ != ':' ||
	    !parse_digits(&p, 2, &s) || *p++ != ' ')
		return -1;
	sign = *p++;
	if ((sign != '+' && sign != '-') || !parse_digits(&p, 2, &zh) ||
	    !parse_digits(&p, 2, &zm) || *p != '\0')
		return -1;
	if (!valid_day(year, mon, day) || year < 1900 || h > 23 || m > 59 ||
	    s > 60 || zm > 59)
		return -1;
	time_t t = utc_mktime(year, mon, day, h, m, s);
	int offset = (zh * 60 + zm) * 60;
	*time_r = sign == '+' ? t - offset : t + offset;
	return 0;
}

void imap_write_datetime(string_t *dest, time_t t)
{
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	str_printfa(dest, "\"%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld\"",
		    tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
		    labs(off) / 60, labs(off) % 60);
}

bool imap_arg_get_mailbox(struct client_command *cmd,
			  const struct imap_arg *arg, const char **name_r)
{
	const char *name;

	if (arg->type == IMAP_ARG_EOL) {
		client_command_error(cmd, "Missing arguments.");
		return false;
	}
	if (!imap_arg_get_astring(arg, &name)) {
		client_command_error(cmd, "Invalid arguments.");
		return false;
	}
	if (strlen(name) != arg->str_len) {
		client_command_reply(cmd, "NO Mailbox name contains NUL.");
		return false;
	}
	*name_r = imap_mailbox_name_from_client(cmd->client, name);
	if (*name_r == NULL) {
		client_command_replyf(cmd, "NO Client tried to access "
			"nonexistent namespace. (Mailbox name should "
			"probably be prefixed with: %s)", cmd->client->ns_prefix);
		return false;
	}
	return true;
}

const char *imap_mailbox_name_from_client(struct client *client,
					  const char *name)
{
	const char *prefix = client->ns_prefix;
	size_t len = strlen(prefix);

	if (strcasecmp(name, "INBOX") == 0)
		return "INBOX";
	if (len == 0)
		return name;
	/* "INBOX." prefixes match case-insensitively like INBOX */
	if ((str_begins_icase(prefix, "INBOX") ?
	     strncasecmp(name, prefix, len) : strncmp(name, prefix, len)) == 0 &&
	    name[len] != '\0')
		return name + len;
	return NULL;
}

char *imap_mailbox_name_to_client(struct client *client, const char *name)
{
	if (strcmp(name, "INBOX") == 0)
		return i_strdup(name);
	return i_strdup_printf("%s%s", client->ns_prefix, name);
}

void imap_reply_nonexistent(struct client_command *cmd, const char *name)
{
	client_command_replyf(cmd, "NO [NONEXISTENT] Mailbox doesn't exist: %s",
			      name);
}

void imap_reply_storage_error(struct client_command *cmd, const char *error)
{
	const char *code = NULL;

	if (error == NULL)
		error = "Internal error";
	if (str_begins(error, "Internal error")) {
		char tbuf[64];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S", &tm);
		client_command_replyf(cmd, "NO [SERVERBUG] Internal error "
			"occurred. Refer to server log for more information. "
			"[%s]", tbuf);
		return;
	}
	if (strstr(error, "already exists") != NULL)
		code = "ALREADYEXISTS";
	else if (strstr(error, "doesn't exist") != NULL ||
		 strstr(error, "does not exist") != NULL ||
		 strstr(error, "No such") != NULL)
		code = "NONEXISTENT";
	else if (strstr(error, "xpunged") != NULL)
		code = "EXPUNGEISSUED";
	else if (strstr(error, "lock") != NULL)
		code = "INUSE";
	else if (strstr(error, "too large") != NULL)
		code = "TOOBIG";
	else if (strstr(error, "Too many") != NULL)
		code = "LIMIT";
	else if (strstr(error, "Not enough disk space") != NULL ||
		 strstr(error, "Quota exceeded") != NULL)
		/* as Dovecot: ENOSPC/EDQUOT -> MAIL_ERROR_NOSPACE/NOQUOTA ->
		   [OVERQUOTA] (RFC 5530) */
		code = "OVERQUOTA";
	else
		code = "CANNOT";
	client_command_replyf(cmd, "NO [%s] %s", code, error);
}


int imap_seqset_get_seqs(struct client_command *cmd, const char *set,
			 bool uid, uint32_t **seqs_r, unsigned int *count_r)
{
	struct mailbox *box = cmd->client->mailbox;
	uint32_t count = mailbox_count(box);
	struct seq_range *ranges;
	unsigned int ranges_count, n = 0;
	uint32_t *seqs;

	if (uid) {
		const struct mail_record *last =
			count == 0 ? NULL : mailbox_get(box, count);
		if (imap_seqset_parse(set, last == NULL ? 0 : last->uid,
				      &ranges, &ranges_count) < 0) {
			client_command_error(cmd, "Invalid uidset");
			return -1;
		}
		seqs = i_new(uint32_t, count + 1);
		for (uint32_t seq = 1; seq <= count; seq++) {
			const struct mail_record *rec = mailbox_get(box, seq);
			if (rec != NULL && imap_seqset_contains(ranges,
						ranges_count, rec->uid))
				seqs[n++] = seq;
		}
	} else {
		/* the client's sequence numbers, which may still include
		   messages expunged meanwhile (not yet reported) */
		uint32_t client_count = cmd->client->known_count;
		if (imap_seqset_parse(set, client_count, &ranges,
				      &ranges_count) < 0 || client_count == 0 ||
		    imap_seqset_max(ranges, ranges_count) > client_count) {
			free(ranges);
			client_command_error(cmd, "Invalid messageset");
			return -1;
		}
		uint64_t total = 0;
		for (unsigned int i = 0; i < ranges_count; i++)
			total += ranges[i].seq2 - ranges[i].seq1 + 1;
		seqs = i_new(uint32_t, total + 1);
		for (unsigned int i = 0; i < ranges_count; i++) {
			for (uint64_t s = ranges[i].seq1; s <= ranges[i].seq2; s++) {
				uint32_t sseq = client_seq_to_storage(cmd->client,
								      (uint32_t)s);
				if (sseq != 0)
					seqs[n++] = sseq;
				else
					cmd->seqs_expunged = true;
			}
		}
	}
	free(ranges);
	*seqs_r = seqs;
	*count_r = n;
	return 0;
}
