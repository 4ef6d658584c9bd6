/* Replay driver for the fuzz targets in the normal (non-libFuzzer)
   build: runs LLVMFuzzerTestOneInput() once over every file named on
   the command line and over every regular file found (recursively, in
   sorted order) in every directory named there.

   Usage: fuzz-TARGET [--every=N] [--max-size=BYTES] PATH...
     --every=N       from directories, take only every Nth file (sample)
     --max-size=B    skip files larger than B bytes (default 16 MiB)
   A PATH that does not exist is an error, except when it starts with
   '?', which marks it optional (e.g. a corpus outside the repository).
   Prints "replayed N inputs" and exits 0, or 1 when a path can't be
   read; a crash in the target aborts the process (ASan/UBSan). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long every = 1, dir_counter = 0, replayed = 0;
static size_t max_size = 16 * 1024 * 1024;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	if (fstat(fileno(f), &st) < 0) {
		perror(path);
		fclose(f);
		return -1;
	}
	if ((size_t)st.st_size > max_size) {
		fclose(f);
		return 0;
	}
	/* exact-size heap buffer so ASan sees reads past the end */
	buf = malloc(st.st_size == 0 ? 1 : (size_t)st.st_size);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	replayed++;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(const char *path, int in_dir);

static int replay_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t count = 0, alloc = 0, i;
	int ret = 0;

	if (d == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			names = realloc(names, alloc * sizeof(*names));
			if (names == NULL)
				abort();
		}
		names[count++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(*names), name_cmp);
	for (i = 0; i < count; i++) {
		size_t len = strlen(path) + strlen(names[i]) + 2;
		char *sub = malloc(len);

		snprintf(sub, len, "%s/%s", path, names[i]);
		if (replay_path(sub, 1) < 0)
			ret = -1;
		free(sub);
		free(names[i]);
	}
	free(names);
	return ret;
}

static int replay_path(const char *path, int in_dir)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return replay_dir(path);
	if (!S_ISREG(st.st_mode))
		return 0;
	if (in_dir && (dir_counter++ % every) != 0)
		return 0;
	return replay_file(path);
}

int main(int argc, char **argv)
{
	int i, ret = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strncmp(arg, "--every=", 8) == 0) {
			every = strtoul(arg + 8, NULL, 10);
			if (every == 0)
				every = 1;
			continue;
		}
		if (strncmp(arg, "--max-size=", 11) == 0) {
			max_size = strtoull(arg + 11, NULL, 10);
			continue;
		}
		if (arg[0] == '?') {
			struct stat st;

			if (stat(arg + 1, &st) < 0) {
				printf("skipping missing optional %s\n", arg + 1);
				continue;
			}
			arg++;
		}
		if (replay_path(arg, 0) < 0)
			ret = 1;
	}
	printf("replayed %lu inputs\n", replayed);
	return ret;
}
