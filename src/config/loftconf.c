/* loftconf: read and check the configuration, print it in dovecot.conf
   syntax (Dovecot's doveconf):
     loftconf [-c FILE] [-n | -a | -x]
   -n  settings that differ from the defaults (default action)
   -a  all settings
   -x  check only; on error print "file:line: message" and exit 1 */
#include "lib.h"
#include "settings.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LOFT_CONFIG_PATH "/etc/loft/loft.conf"
#define DOVECOT_CONFIG_PATH "/etc/dovecot/dovecot.conf"

static void ATTR_NORETURN usage(void)
{
	fprintf(stderr, "Usage: loftconf [-c FILE] [-n | -a | -x]\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	const char *path = NULL;
	char mode = 'n';
	int c;

	while ((c = getopt(argc, argv, "c:naxh")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'n':
		case 'a':
		case 'x':
			mode = (char)c;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (path == NULL) {
		path = access(LOFT_CONFIG_PATH, F_OK) == 0 ?
			LOFT_CONFIG_PATH : DOVECOT_CONFIG_PATH;
	}

	struct loft_settings *set;
	char *error;
	if (settings_read(path, &set, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		free(error);
		return 1;
	}
	for (unsigned int i = 0; set->warnings[i] != NULL; i++)
		fprintf(stderr, "Warning: %s\n", set->warnings[i]);
	if (mode != 'x')
		settings_print(set, mode == 'n', stdout);
	settings_free(&set);
	return fflush(stdout) == 0 ? 0 : 1;
}
