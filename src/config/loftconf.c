/* loftconf: read and check the configuration, print it in dovecot.conf
   syntax (Dovecot's doveconf):
     loftconf [-c FILE] [-n | -a | -x]
     loftconf [-c FILE] [-h] NAME...
   -n  settings that differ from the defaults (default action)
   -a  all settings
   -x  check only; on error print "file:line: message" and exit 1
   NAME  print "NAME = value" of global settings (-h: only the value) */
#include "lib.h"
#include "settings.h"
#include "settings-private.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LOFT_CONFIG_PATH "/etc/loft/loft.conf"
#define DOVECOT_CONFIG_PATH "/etc/dovecot/dovecot.conf"

static void ATTR_NORETURN usage(void)
{
	fprintf(stderr, "Usage: loftconf [-c FILE] [-n | -a | -x]\n"
			"       loftconf [-c FILE] [-h] NAME...\n");
	exit(2);
}

static int print_names(const struct loft_settings *set, char *names[],
		       bool hide_key)
{
	string_t *str = str_new(128);
	int ret = 0;

	for (unsigned int i = 0; names[i] != NULL; i++) {
		const struct setting_def *def =
			setting_table_find(&settings_global_table, names[i]);
		if (def == NULL) {
			fprintf(stderr, "Unknown setting: %s\n", names[i]);
			ret = 1;
			continue;
		}
		str_truncate(str, 0);
		setting_format(def, set, str);
		if (hide_key)
			printf("%s\n", str_c(str));
		else
			printf("%s = %s%s\n", names[i],
			       def->type == SET_FILE && str_len(str) > 0 ?
			       "<" : "", str_c(str));
	}
	str_free(&str);
	return ret;
}

int main(int argc, char *argv[])
{
	const char *path = NULL;
	bool hide_key = false;
	char mode = 'n';
	int c, ret = 0;

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
		case 'h':
			hide_key = true;
			break;
		default:
			usage();
		}
	}
	if ((optind == argc && hide_key) || (optind != argc && mode != 'n'))
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
	if (optind != argc)
		ret = print_names(set, argv + optind, hide_key);
	else if (mode != 'x')
		settings_print(set, mode == 'n', stdout);
	settings_free(&set);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}
