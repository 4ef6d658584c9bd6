/* loftadm pw: generate or test password hashes like doveadm pw. */
#include "loftadm.h"
#include "password-scheme.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#define PW_LIVES 3

static void pw_usage(void)
{
	fprintf(stderr, "usage: loftadm pw [-l] [-p plaintext] [-r rounds] "
		"[-s scheme] [-t hash] [-u user] [-V]\n");
	exit(LOFTADM_EX_USAGE);
}

/* Read one line from fd; the terminal doesn't echo it when it is one.
   Returns i_malloc'd text without the newline. */
static char *askpass(const char *prompt)
{
	bool tty = isatty(STDIN_FILENO) != 0;
	struct termios old, noecho;
	string_t *str = str_new(64);
	char c;

	if (tty) {
		/* echo off before the prompt: nothing typed after it shows */
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			noecho = old;
			noecho.c_lflag &= ~(tcflag_t)ECHO;
			(void)tcsetattr(STDIN_FILENO, TCSANOW, &noecho);
		} else {
			tty = false;
		}
		fputs(prompt, stderr);
		fflush(stderr);
	}
	for (;;) {
		ssize_t ret = read(STDIN_FILENO, &c, 1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0 || c == '\n')
			break;
		if (str_len(str) >= PASSWORD_MAX_PLAINTEXT_LEN)
			loftadm_fatal("Password too long");
		str_append_c(str, c);
	}
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stderr);
	}
	if (str_len(str) > 0 && str_c(str)[str_len(str) - 1] == '\r')
		str_truncate(str, str_len(str) - 1);
	return str_free_without_data(&str);
}

static void secret_free(char **s)
{
	if (*s != NULL) {
		safe_memset(*s, 0, strlen(*s));
		i_free(*s);
	}
}

static char *read_new_password(void)
{
	if (!isatty(STDIN_FILENO))
		return askpass("");
	for (int lives = PW_LIVES; lives > 0; lives--) {
		char *pass = askpass("Enter new password: ");
		char *check = askpass("Retype new password: ");
		bool same = strcmp(pass, check) == 0;
		secret_free(&check);
		if (same)
			return pass;
		secret_free(&pass);
		fprintf(stderr, "Error: Passwords don't match!\n");
	}
	exit(1);
}

static int pw_test(const char *test_hash, const char *plaintext)
{
	const char *data, *error;
	char *scheme = password_get_scheme(test_hash, &data);

	if (scheme == NULL)
		loftadm_fatal("Missing {scheme} prefix from hash");
	str_ucase(scheme);
	int ret = password_verify(plaintext, scheme, data, &error);
	if (ret < 0)
		loftadm_fatal("reverse decode check failed: %s", error);
	if (ret == 0) {
		loftadm_fatal("reverse password verification check failed: %s",
			      error);
	}
	printf("{%s}%s (verified)\n", scheme, data);
	free(scheme);
	return 0;
}

int cmd_pw(int argc, char *argv[])
{
	const char *scheme_arg = PASSWORD_DEFAULT_SCHEME, *test_hash = NULL;
	char *plaintext = NULL, *scheme;
	bool reverse_verify = false;
	uint32_t rounds = 0;
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "lp:r:s:t:u:V")) > 0) {
		switch (c) {
		case 'l':
			printf("%s\n", password_schemes_list());
			return 0;
		case 'p':
			plaintext = i_strdup(optarg);
			/* keep it out of ps output where we can */
			safe_memset(optarg, 'x', strlen(optarg));
			break;
		case 'r':
			if (str_to_uint32(optarg, &rounds) < 0)
				loftadm_fatal("Invalid number of rounds: %s", optarg);
			break;
		case 's':
			scheme_arg = optarg;
			break;
		case 't':
			test_hash = optarg;
			reverse_verify = true;
			break;
		case 'u':
			/* DIGEST-MD5 style schemes only; none here need it */
			break;
		case 'V':
			reverse_verify = true;
			break;
		default:
			pw_usage();
		}
	}
	if (optind != argc)
		pw_usage();

	if (plaintext == NULL)
		plaintext = test_hash != NULL ?
			askpass("Enter password to verify: ") :
			read_new_password();
	if (test_hash != NULL) {
		int ret = pw_test(test_hash, plaintext);
		secret_free(&plaintext);
		return ret;
	}

	scheme = i_strdup(scheme_arg);
	str_ucase(scheme);
	const char *error;
	char *hash = password_generate_encoded(plaintext, scheme, rounds, &error);
	if (hash == NULL)
		loftadm_fatal("Unknown scheme: %s", scheme);
	if (reverse_verify) {
		int ret = password_verify(plaintext, scheme, hash, &error);
		if (ret <= 0)
			loftadm_fatal("reverse password verification check failed: %s",
				      error);
		printf("{%s}%s (verified)\n", scheme, hash);
	} else {
		printf("{%s}%s\n", scheme, hash);
	}
	secret_free(&plaintext);
	free(hash);
	free(scheme);
	return 0;
}
