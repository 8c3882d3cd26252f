/* Replays every file in a corpus directory through a fuzz target, so
 * corpora (and every crash ever found) run as ordinary tests, with any
 * compiler. Usage: replay_<target> <corpus-dir>.
 *
 * Each input runs in a child process: one crashing input is reported by
 * name and does not hide the others. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *buf;
    size_t n;

    if (!f || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    /* Exactly size bytes, so ASan sees reads past the input. */
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    if (n != (size_t)st.st_size) {
        fprintf(stderr, "replay: %s: short read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

/* 0 when the input ran clean, else -1 (and says how it died). */
static int replay_isolated(const char *path, const char *name)
{
    int status;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(replay_file(path) ? 2 : 0);
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        fprintf(stderr, "replay: %s: FAILED (signal %d)\n", name, WTERMSIG(status));
    else
        fprintf(stderr, "replay: %s: FAILED (exit %d)\n", name, WEXITSTATUS(status));
    return -1;
}

int main(int argc, char **argv)
{
    struct dirent **ents;
    char path[4096];
    int n, done = 0, failed = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    n = scandir(argv[1], &ents, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", argv[1], ents[i]->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_isolated(path, ents[i]->d_name))
                failed++;
            else
                done++;
        }
        free(ents[i]);
    }
    free(ents);
    printf("replayed %d inputs from %s, %d failed\n", done + failed, argv[1], failed);
    /* An empty corpus means the test lost its inputs. */
    return failed || done == 0 ? 1 : 0;
}
