/* SEARCH key parsing and matching. Flag, size, date and set keys use
   the index record; header/body keys read and parse the message once
   per message, only when the tree gets to them. Header keys (HEADER,
   FROM, SUBJECT, SENT*, ...) match the header block kept in the
   storage's parse cache, so that a repeated SEARCH reads no files. */
#include "imap-search.h"
#include "imap-util.h"
#include "imap-seqset.h"
#include "imap-search-match.h"
#include "message-parser.h"
#include "message-header.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

enum search_type {
	SEARCH_ALL,
	SEARCH_AND,
	SEARCH_OR,
	SEARCH_NOT,
	SEARCH_FLAG,      /* flag set (or unset with want=false) */
	SEARCH_KEYWORD,
	SEARCH_SEQSET,
	SEARCH_UIDSET,
	SEARCH_LARGER,
	SEARCH_SMALLER,
	SEARCH_BEFORE, SEARCH_ON, SEARCH_SINCE,
	SEARCH_SENTBEFORE, SEARCH_SENTON, SEARCH_SENTSINCE,
	SEARCH_HEADER,
	SEARCH_BODY,
	SEARCH_TEXT,
};

struct search_key {
	enum search_type type;
	struct search_key *children, *next;
	enum mail_flags flag;
	bool want;
	char *field, *value;
	time_t date;
	uint64_t size;
	struct seq_range *ranges;
	unsigned int ranges_count;
};

struct imap_search {
	struct search_key *root;
};

struct search_parser {
	const struct imap_arg *arg;
	uint32_t seq_star, uid_star;
	unsigned int depth;
	const char *error;
	char errbuf[128];
};

struct search_msg {
	struct mailbox *box;
	uint32_t seq, client_seq;
	const struct mail_record *rec;
	unsigned char *data;
	size_t size;
	struct message_part *parts;
	bool load_failed;
	/* the header block (CRLF, as in data): points into data or to
	   hdr_cached */
	const unsigned char *hdr;
	size_t hdr_size;
	char *hdr_cached;
};

/* The header block of a message in the parse cache (CRLF line endings,
   up to and including the empty line; never with NUL bytes). */
#define SEARCH_CACHE_HEADER MAILBOX_CACHE_HEADER_BLOCK
#define SEARCH_CACHE_HEADER_MAX_SIZE (64 * 1024)
/* For these fields (the SEARCH keys of their own) the cache also keeps
   just their fields, as they are in the header block ("imap.header.
   <name>": every field of that name, whole, with its line breaks): the
   matcher then sees exactly the fields it would pick from the whole
   block, without going through the others. A fixed list keeps HEADER
   searches on arbitrary names from growing the cache. */
static const char *const search_cached_fields[] = {
	"from", "to", "cc", "bcc", "subject", NULL
};

static void search_key_free(struct search_key *key)
{
	while (key != NULL) {
		struct search_key *next = key->next;
		search_key_free(key->children);
		free(key->field);
		free(key->value);
		free(key->ranges);
		free(key);
		key = next;
	}
}

static struct search_key *key_new(enum search_type type)
{
	struct search_key *key = i_new(struct search_key, 1);
	key->type = type;
	key->want = true;
	return key;
}

static struct search_key *search_parse_key(struct search_parser *p);

static bool get_astring(struct search_parser *p, const char **str_r)
{
	if (p->arg->type == IMAP_ARG_EOL || p->arg->type == IMAP_ARG_LIST ||
	    !imap_arg_get_astring(p->arg, str_r)) {
		p->error = "Missing argument";
		return false;
	}
	p->arg++;
	return true;
}

/* AND of keys until the end of the list */
static struct search_key *search_parse_list(struct search_parser *p)
{
	struct search_key *and = key_new(SEARCH_AND), **tail = &and->children;

	while (p->arg->type != IMAP_ARG_EOL) {
		struct search_key *key = search_parse_key(p);
		if (key == NULL) {
			search_key_free(and);
			return NULL;
		}
		*tail = key;
		tail = &key->next;
	}
	return and;
}

/* What follows a search key's name. */
enum search_arg {
	ARG_NONE,
	ARG_DATE,	/* date */
	ARG_STRING,	/* astring -> value */
	ARG_HEADER,	/* field-name astring -> field, value */
	ARG_SIZE,	/* number */
	ARG_UIDSET,	/* sequence set of UIDs */
	ARG_KEYWORD,	/* flag-keyword */
};

static const struct search_key_def {
	const char *name;
	enum search_type type;
	enum search_arg arg;
	enum mail_flags flag;
	bool want;
} key_defs[] = {
	{ "ALL", SEARCH_ALL, ARG_NONE, 0, true },
	{ "ANSWERED", SEARCH_FLAG, ARG_NONE, MAIL_ANSWERED, true },
	{ "UNANSWERED", SEARCH_FLAG, ARG_NONE, MAIL_ANSWERED, false },
	{ "DELETED", SEARCH_FLAG, ARG_NONE, MAIL_DELETED, true },
	{ "UNDELETED", SEARCH_FLAG, ARG_NONE, MAIL_DELETED, false },
	{ "DRAFT", SEARCH_FLAG, ARG_NONE, MAIL_DRAFT, true },
	{ "UNDRAFT", SEARCH_FLAG, ARG_NONE, MAIL_DRAFT, false },
	{ "FLAGGED", SEARCH_FLAG, ARG_NONE, MAIL_FLAGGED, true },
	{ "UNFLAGGED", SEARCH_FLAG, ARG_NONE, MAIL_FLAGGED, false },
	{ "SEEN", SEARCH_FLAG, ARG_NONE, MAIL_SEEN, true },
	{ "UNSEEN", SEARCH_FLAG, ARG_NONE, MAIL_SEEN, false },
	{ "RECENT", SEARCH_FLAG, ARG_NONE, MAIL_RECENT, true },
	{ "OLD", SEARCH_FLAG, ARG_NONE, MAIL_RECENT, false },
	{ "BEFORE", SEARCH_BEFORE, ARG_DATE, 0, true },
	{ "ON", SEARCH_ON, ARG_DATE, 0, true },
	{ "SINCE", SEARCH_SINCE, ARG_DATE, 0, true },
	{ "SENTBEFORE", SEARCH_SENTBEFORE, ARG_DATE, 0, true },
	{ "SENTON", SEARCH_SENTON, ARG_DATE, 0, true },
	{ "SENTSINCE", SEARCH_SENTSINCE, ARG_DATE, 0, true },
	{ "BCC", SEARCH_HEADER, ARG_STRING, 0, true },
	{ "CC", SEARCH_HEADER, ARG_STRING, 0, true },
	{ "FROM", SEARCH_HEADER, ARG_STRING, 0, true },
	{ "SUBJECT", SEARCH_HEADER, ARG_STRING, 0, true },
	{ "TO", SEARCH_HEADER, ARG_STRING, 0, true },
	{ "HEADER", SEARCH_HEADER, ARG_HEADER, 0, true },
	{ "BODY", SEARCH_BODY, ARG_STRING, 0, true },
	{ "TEXT", SEARCH_TEXT, ARG_STRING, 0, true },
	{ "KEYWORD", SEARCH_KEYWORD, ARG_KEYWORD, 0, true },
	{ "UNKEYWORD", SEARCH_KEYWORD, ARG_KEYWORD, 0, false },
	{ "LARGER", SEARCH_LARGER, ARG_SIZE, 0, true },
	{ "SMALLER", SEARCH_SMALLER, ARG_SIZE, 0, true },
	{ "UID", SEARCH_UIDSET, ARG_UIDSET, 0, true },
};

/* Read the key's argument(s) into key. */
static bool search_parse_arg(struct search_parser *p,
			     const struct search_key_def *def,
			     struct search_key *key)
{
	const char *str, *str2;

	if (def->arg == ARG_NONE)
		return true;
	if (!get_astring(p, &str))
		return false;
	switch (def->arg) {
	case ARG_NONE:
		break;
	case ARG_DATE:
		if (imap_parse_date(str, &key->date) < 0) {
			p->error = "Invalid search date parameter";
			return false;
		}
		break;
	case ARG_STRING:
	case ARG_KEYWORD:
		if (def->type == SEARCH_HEADER)
			key->field = i_strdup(def->name);
		key->value = i_strdup(str);
		break;
	case ARG_HEADER:
		if (!get_astring(p, &str2))
			return false;
		key->field = i_strdup(str);
		key->value = i_strdup(str2);
		break;
	case ARG_SIZE:
		if (str_to_uint64(str, &key->size) < 0) {
			p->error = "Invalid size";
			return false;
		}
		break;
	case ARG_UIDSET:
		if (imap_seqset_parse(str, p->uid_star, &key->ranges,
				      &key->ranges_count) < 0) {
			p->error = "Invalid uidset";
			return false;
		}
		break;
	}
	return true;
}

/* NOT key / OR key1 key2 */
static struct search_key *search_parse_not_or(struct search_parser *p,
					      bool or)
{
	struct search_key *key = key_new(or ? SEARCH_OR : SEARCH_NOT);
	struct search_key **tail = &key->children;

	for (unsigned int i = 0; i < (or ? 2U : 1U); i++) {
		if (p->arg->type == IMAP_ARG_EOL ||
		    (*tail = search_parse_key(p)) == NULL) {
			if (p->error == NULL)
				p->error = "Missing argument";
			search_key_free(key);
			return NULL;
		}
		tail = &(*tail)->next;
	}
	return key;
}

static struct search_key *
search_parse_named(struct search_parser *p, const char *name)
{
	struct search_key *key;

	for (unsigned int i = 0; i < N_ELEMENTS(key_defs); i++) {
		const struct search_key_def *def = &key_defs[i];
		if (strcasecmp(name, def->name) != 0)
			continue;
		key = key_new(def->type);
		key->flag = def->flag;
		key->want = def->want;
		if (!search_parse_arg(p, def, key)) {
			search_key_free(key);
			return NULL;
		}
		return key;
	}
	if (strcasecmp(name, "NEW") == 0) {
		/* RECENT and UNSEEN */
		key = key_new(SEARCH_AND);
		key->children = search_parse_named(p, "RECENT");
		key->children->next = search_parse_named(p, "UNSEEN");
		return key;
	}
	if (strcasecmp(name, "NOT") == 0 || strcasecmp(name, "OR") == 0)
		return search_parse_not_or(p, strcasecmp(name, "OR") == 0);
	if ((name[0] >= '0' && name[0] <= '9') || name[0] == '*') {
		key = key_new(SEARCH_SEQSET);
		if (imap_seqset_parse(name, p->seq_star, &key->ranges,
				      &key->ranges_count) < 0) {
			p->error = "Invalid messageset";
			search_key_free(key);
			return NULL;
		}
		return key;
	}
	snprintf(p->errbuf, sizeof(p->errbuf), "Unknown argument %.64s", name);
	p->error = p->errbuf;
	return NULL;
}

static struct search_key *search_parse_key(struct search_parser *p)
{
	const struct imap_arg *arg = p->arg;
	struct search_key *key;
	const char *atom;

	if (++p->depth > IMAP_SEARCH_MAX_DEPTH) {
		p->error = "Too deep search nesting";
		return NULL;
	}
	p->arg++;
	if (arg->type == IMAP_ARG_LIST) {
		if (arg->list_count == 0) {
			p->error = "Empty search list";
			key = NULL;
		} else {
			const struct imap_arg *saved = p->arg;
			p->arg = arg->list;
			key = search_parse_list(p);
			p->arg = saved;
		}
	} else if (!imap_arg_get_atom(arg, &atom)) {
		p->error = "Invalid search argument";
		key = NULL;
	} else {
		key = search_parse_named(p, atom);
	}
	p->depth--;
	return key;
}

int imap_search_parse(const struct imap_arg *args, uint32_t seq_star,
		      uint32_t uid_star, struct imap_search **search_r,
		      const char **error_r)
{
	static char errbuf[128];
	struct search_parser p = {
		.arg = args, .seq_star = seq_star, .uid_star = uid_star,
	};

	if (args->type == IMAP_ARG_EOL) {
		*error_r = "Missing search parameters";
		return -1;
	}
	struct search_key *root = search_parse_list(&p);
	if (root == NULL) {
		snprintf(errbuf, sizeof(errbuf), "%s", p.error == NULL ?
			 "Invalid search parameters" : p.error);
		*error_r = errbuf;
		return -1;
	}
	*search_r = i_new(struct imap_search, 1);
	(*search_r)->root = root;
	return 0;
}

void imap_search_free(struct imap_search **_search)
{
	struct imap_search *search = *_search;

	if (search == NULL)
		return;
	*_search = NULL;
	search_key_free(search->root);
	free(search);
}

/* ---- matching ---- */

static int search_load(struct search_msg *msg)
{
	const char *error;

	if (msg->data != NULL)
		return 0;
	if (msg->load_failed ||
	    mailbox_msg_read(msg->box, msg->seq, &msg->data, &msg->size,
			     &error) < 0) {
		msg->load_failed = true;
		return -1;
	}
	msg->parts = message_parse(msg->data, msg->size);
	return 0;
}

static int search_load_header(struct search_msg *msg)
{
	if (msg->hdr != NULL)
		return 0;
	if (msg->data == NULL && !msg->load_failed) {
		msg->hdr_cached = mailbox_cache_get(msg->box, msg->seq,
						    SEARCH_CACHE_HEADER);
		if (msg->hdr_cached != NULL) {
			msg->hdr = (const unsigned char *)msg->hdr_cached;
			msg->hdr_size = strlen(msg->hdr_cached);
			return 0;
		}
	}
	if (search_load(msg) < 0)
		return -1;
	msg->hdr = msg->data;
	msg->hdr_size = msg->parts->header_size;
	if (msg->hdr_size <= SEARCH_CACHE_HEADER_MAX_SIZE &&
	    memchr(msg->data, '\0', msg->hdr_size) == NULL) {
		char *value = i_strndup(msg->data, msg->hdr_size);
		mailbox_cache_set(msg->box, msg->seq, SEARCH_CACHE_HEADER, value);
		free(value);
	}
	return 0;
}

static bool search_field_is_cached(const char *field)
{
	for (unsigned int i = 0; search_cached_fields[i] != NULL; i++) {
		if (strcasecmp(field, search_cached_fields[i]) == 0)
			return true;
	}
	return false;
}

/* The fields called field of the message's header (see
   search_cached_fields) and their size: caller frees. NULL if the
   message can't be read. */
char *imap_search_header_fields(const unsigned char *hdr, size_t hdr_size,
				const char *field, size_t *size_r)
{
	struct message_header_iter iter;
	struct message_header_field hf;
	string_t *str = str_new(256);

	message_header_iter_init(&iter, hdr, hdr_size);
	while (message_header_iter_next(&iter, &hf)) {
		if (message_header_field_is(&hf, field))
			str_append_n(str, hdr + hf.start, hf.end - hf.start);
	}
	*size_r = str_len(str);
	return str_free_without_data(&str);
}

static char *search_load_fields(struct search_msg *msg, const char *field,
				size_t *size_r)
{
	char *name = i_strdup_printf("%s.%s", SEARCH_CACHE_HEADER, field);
	char *value;

	str_lcase(name);
	value = msg->data != NULL || msg->load_failed ? NULL :
		mailbox_cache_get(msg->box, msg->seq, name);
	if (value != NULL) {
		/* cached values never hold NUL bytes */
		*size_r = strlen(value);
	} else if (search_load_header(msg) == 0) {
		value = imap_search_header_fields(msg->hdr, msg->hdr_size,
						  field, size_r);
		if (memchr(value, '\0', *size_r) == NULL)
			mailbox_cache_set(msg->box, msg->seq, name, value);
	}
	free(name);
	return value;
}

/* Calendar day of t in the server's time zone, as 00:00 UTC. */
static time_t local_day(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	struct tm day = {
		.tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday,
	};
	return timegm(&day);
}

static bool date_cmp(enum search_type type, time_t day, time_t key)
{
	switch (type) {
	case SEARCH_BEFORE: case SEARCH_SENTBEFORE: return day < key;
	case SEARCH_ON: case SEARCH_SENTON: return day == key;
	default: return day >= key;
	}
}

static bool has_keyword(const struct mail_record *rec, const char *kw)
{
	for (const char *const *k = rec->keywords; k != NULL && *k != NULL; k++) {
		if (strcasecmp(*k, kw) == 0)
			return true;
	}
	return false;
}

static bool search_match_key(struct search_key *key, struct search_msg *msg);

static bool search_match_content(struct search_key *key, struct search_msg *msg)
{
	time_t day;

	switch (key->type) {
	case SEARCH_SENTBEFORE:
	case SEARCH_SENTON:
	case SEARCH_SENTSINCE:
		if (search_load_header(msg) < 0 ||
		    imap_search_sent_date(msg->hdr, msg->hdr_size, &day,
					  NULL) < 0)
			return false;
		return date_cmp(key->type, day, key->date);
	case SEARCH_HEADER:
		if (search_field_is_cached(key->field)) {
			size_t size = 0;
			char *fields = search_load_fields(msg, key->field,
							  &size);
			bool match = fields != NULL &&
				imap_search_header((const unsigned char *)fields,
						   size, key->field,
						   key->value) > 0;
			free(fields);
			return match;
		}
		return search_load_header(msg) == 0 &&
			imap_search_header(msg->hdr, msg->hdr_size, key->field,
					   key->value) > 0;
	default:
		break;
	}
	if (search_load(msg) < 0)
		return false;
	switch (key->type) {
	case SEARCH_BODY:
		return imap_search_body(msg->data, msg->size, msg->parts,
					key->value) > 0;
	case SEARCH_TEXT:
		return imap_search_text(msg->data, msg->size, msg->parts,
					key->value) > 0;
	default:
		return false;
	}
}

/* LARGER/SMALLER (RFC 3501 6.4.4: RFC822.SIZE) */
static bool search_match_vsize(const struct search_key *key,
			       struct search_msg *msg)
{
	uint64_t vsize;
	const char *error;

	if (msg->load_failed ||
	    mailbox_get_vsize(msg->box, msg->seq, &vsize, &error) < 0) {
		msg->load_failed = true;
		return false;
	}
	return key->type == SEARCH_LARGER ? vsize > key->size :
		vsize < key->size;
}

static bool search_match_key(struct search_key *key, struct search_msg *msg)
{
	const struct mail_record *rec = msg->rec;

	switch (key->type) {
	case SEARCH_ALL:
		return true;
	case SEARCH_AND:
		for (struct search_key *k = key->children; k != NULL; k = k->next) {
			if (!search_match_key(k, msg))
				return false;
		}
		return true;
	case SEARCH_OR:
		return search_match_key(key->children, msg) ||
			search_match_key(key->children->next, msg);
	case SEARCH_NOT:
		return !search_match_key(key->children, msg);
	case SEARCH_FLAG:
		return ((rec->flags & key->flag) != 0) == key->want;
	case SEARCH_KEYWORD:
		return has_keyword(rec, key->value) == key->want;
	case SEARCH_SEQSET:
		return imap_seqset_contains(key->ranges, key->ranges_count,
					    msg->client_seq);
	case SEARCH_UIDSET:
		return imap_seqset_contains(key->ranges, key->ranges_count,
					    rec->uid);
	case SEARCH_LARGER:
	case SEARCH_SMALLER:
		return search_match_vsize(key, msg);
	case SEARCH_BEFORE:
	case SEARCH_ON:
	case SEARCH_SINCE:
		return date_cmp(key->type, local_day(rec->internal_date),
				key->date);
	default:
		return search_match_content(key, msg);
	}
}

int imap_search_match(struct imap_search *search, struct mailbox *box,
		      uint32_t seq, uint32_t client_seq)
{
	struct search_msg msg = { .box = box, .seq = seq,
				  .client_seq = client_seq };
	int ret;

	msg.rec = mailbox_get(box, seq);
	if (msg.rec == NULL)
		return 0;
	ret = search_match_key(search->root, &msg) && !msg.load_failed ? 1 : 0;
	if (msg.parts != NULL)
		message_part_free(&msg.parts);
	free(msg.data);
	free(msg.hdr_cached);
	return ret;
}
