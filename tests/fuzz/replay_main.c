/*
 * replay_main.c - a main() for fuzz targets built without libFuzzer (gcc
 * has no -fsanitize=fuzzer): every file named, or found in a directory
 * named, is fed once to LLVMFuzzerTestOneInput. `make test` runs this
 * under ASan+UBSan over the saved corpus, so a crash found once stays
 * found. Files are read into exact-size buffers so that an over-read is
 * caught; directories are replayed in name order, not recursively.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer's ABI */

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "could not open \"%s\"\n", path);
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
		fclose(f);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "could not read \"%s\"\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* a copy of exactly n bytes: ASan sees any read past the end */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int skip_entry(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	int bad = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "no such file or directory \"%s\"\n", argv[i]);
			bad = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]) != 0;
			continue;
		}
		struct dirent **names;
		int n = scandir(argv[i], &names, skip_entry, alphasort);
		if (n < 0) {
			fprintf(stderr, "could not read directory \"%s\"\n", argv[i]);
			bad = 1;
			continue;
		}
		int count = 0;
		for (int k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
			struct stat fs;
			if (stat(path, &fs) == 0 && S_ISREG(fs.st_mode)) {
				bad |= run_file(path) != 0;
				count++;
			}
			free(names[k]);
		}
		free(names);
		printf("%s: replayed %d inputs from %s\n", argv[0], count, argv[i]);
	}
	return bad;
}
