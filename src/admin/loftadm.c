/* loftadm: admin command-line tool (doveadm's grammar). */
#include "loftadm.h"

#include <stdio.h>
#include <stdlib.h>

static const struct {
	const char *name;
	int (*func)(int argc, char *argv[]);
	const char *usage;
} commands[] = {
	{ "pw", cmd_pw, "pw [-l] [-p plaintext] [-r rounds] [-s scheme] "
	  "[-t hash] [-u user] [-V]" },
};

void loftadm_fatal(const char *fmt, ...)
{
	va_list args;
	fputs("Fatal: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
	exit(LOFTADM_EX_FATAL);
}

static void usage(void)
{
	fprintf(stderr, "usage: loftadm <command> [<args>]\n");
	for (size_t i = 0; i < N_ELEMENTS(commands); i++)
		fprintf(stderr, "  %s\n", commands[i].usage);
	exit(LOFTADM_EX_USAGE);
}

int main(int argc, char *argv[])
{
	if (argc < 2)
		usage();
	for (size_t i = 0; i < N_ELEMENTS(commands); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].func(argc - 1, argv + 1);
	}
	fprintf(stderr, "loftadm: Unknown command '%s'\n", argv[1]);
	usage();
}
