#include "log.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char *log_service;
static char *log_prefix;
static bool log_debug;

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
