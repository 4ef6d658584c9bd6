#include "log.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <syslog.h>

static char *log_service;
static char *log_prefix;
static bool log_debug;
static bool log_syslog;

void log_set_syslog(bool enable)
{
	log_syslog = enable;
}

static int log_level_priority(const char *level)
{
	if (strcmp(level, "Debug") == 0)
		return LOG_DEBUG;
	if (strcmp(level, "Warning") == 0)
		return LOG_WARNING;
	if (strcmp(level, "Error") == 0)
		return LOG_ERR;
	if (strcmp(level, "Fatal") == 0 || strcmp(level, "Panic") == 0)
		return LOG_CRIT;
	return LOG_INFO;
}

void log_relay_to_syslog(const char *line)
{
	/* skip "Nov 25 12:00:00 ": syslog stamps lines itself */
	const char *p = line;
	if (strlen(p) > 16 && p[3] == ' ' && p[6] == ' ' && p[9] == ':' &&
	    p[12] == ':' && p[15] == ' ')
		p += 16;
	/* "service: Level: text" -> priority from Level */
	int prio = LOG_INFO;
	const char *colon = strstr(p, ": ");
	if (colon != NULL) {
		const char *lvl = colon + 2;
		const char *end = strstr(lvl, ": ");
		if (end != NULL && end - lvl < 16) {
			char level[16];
			memcpy(level, lvl, (size_t)(end - lvl));
			level[end - lvl] = '\0';
			prio = log_level_priority(level);
		}
	}
	syslog(prio, "%s", p);
}

void log_init(const char *service)
{
	free(log_service);
	log_service = i_strdup(service);
}

void log_set_prefix(const char *prefix)
{
	free(log_prefix);
	log_prefix = i_strdup(prefix);
}

void log_set_debug(bool debug)
{
	log_debug = debug;
}

bool log_debug_enabled(void)
{
	return log_debug;
}

static void log_vwrite(const char *level, const char *fmt, va_list args)
{
	char tbuf[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(tbuf, sizeof(tbuf), "%b %d %H:%M:%S ", &tm);

	string_t *line = str_new(256);
	str_append(line, tbuf);
	if (log_prefix != NULL)
		str_printfa(line, "%s: ", log_prefix);
	else if (log_service != NULL)
		str_printfa(line, "%s: ", log_service);
	str_printfa(line, "%s: ", level);
	size_t msg_start = str_len(line);
	str_vprintfa(line, fmt, args);
	/* Never let a logged value start a new line (log injection). */
	for (size_t i = msg_start; i < line->len; i++) {
		if (line->data[i] == '\n' || line->data[i] == '\r')
			line->data[i] = ' ';
	}
	if (log_syslog) {
		log_relay_to_syslog(str_c(line));
		str_free(&line);
		return;
	}
	str_append_c(line, '\n');
	(void)write_full(STDERR_FILENO, str_data(line), str_len(line));
	str_free(&line);
}

#define LOG_FUNC(name, level) \
void name(const char *fmt, ...) \
{ \
	va_list args; \
	va_start(args, fmt); \
	log_vwrite(level, fmt, args); \
	va_end(args); \
}

LOG_FUNC(i_info, "Info")
LOG_FUNC(i_warning, "Warning")
LOG_FUNC(i_error, "Error")

void i_debug(const char *fmt, ...)
{
	if (!log_debug)
		return;
	va_list args;
	va_start(args, fmt);
	log_vwrite("Debug", fmt, args);
	va_end(args);
}

void i_fatal(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	log_vwrite("Fatal", fmt, args);
	va_end(args);
	exit(FATAL_EXIT_CODE);
}
