/*
** fuzz_driver.c -- runs a fuzz target's LLVMFuzzerTestOneInput over files,
** without libFuzzer: how a normal build (any compiler) replays the seed
** corpus and every crash input kept under tests/fuzz/corpus/<target>/.
**
**   fuzz_json DIR_OR_FILE...
** Directories are read one level deep in name order. Exit 0 when every
** input ran (a bug shows as a crash, an abort or a sanitizer report), 1
** when no input was found or a file could not be read.
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        fprintf(stderr, "cannot read %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    rewind(f);
    buf = malloc((size_t)n + 1);         /* +1: a zero-length malloc */
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int inputs = 0, bad = 0;

    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        struct dirent **ents;
        int n;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: not found\n", argv[i]);
            bad++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += run_file(argv[i]) != 0;
            inputs++;
            continue;
        }
        n = scandir(argv[i], &ents, NULL, alphasort);
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], ents[k]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                bad += run_file(path) != 0;
                inputs++;
            }
            free(ents[k]);
        }
        if (n >= 0)
            free(ents);
    }
    printf("%d inputs replayed\n", inputs);
    return inputs == 0 || bad ? 1 : 0;
}
