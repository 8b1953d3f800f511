/* A Terraform that answers at once, for measuring the engine's own cost per target
 * (bench/bench.py, "scale"). It understands what the engine runs for a fleet re-plan:
 *
 *   version -json            the version document
 *   init -json ...           the version message, exit 0
 *   plan -json ... -out=F    copies $FAKE_TERRAFORM_PLAN (a real saved plan) to F, prints
 *                            the version message and an empty change summary, exit 0
 *
 * Anything else fails loudly: a bench must not measure a command it does not model. */
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char VERSION[] = "{\"@level\":\"info\",\"type\":\"version\",\"terraform\":\"1.11.4\",\"ui\":\"1.2\"}\n";

static int copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY);
    if (in < 0) return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) { close(in); return -1; }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n) { n = -1; break; }
    }
    close(in);
    close(out);
    return n < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 64;
    if (strcmp(argv[1], "version") == 0) {
        fputs("{\"terraform_version\":\"1.11.4\",\"platform\":\"linux_amd64\",\"provider_selections\":{},\"terraform_outdated\":false}\n", stdout);
        return 0;
    }
    if (strcmp(argv[1], "init") == 0) {
        fputs(VERSION, stdout);
        return 0;
    }
    if (strcmp(argv[1], "plan") == 0) {
        const char *plan = getenv("FAKE_TERRAFORM_PLAN");
        const char *out = NULL;
        for (int i = 2; i < argc; i++) {
            if (strncmp(argv[i], "-out=", 5) == 0) out = argv[i] + 5;
        }
        if (!plan || !out || copy(plan, out) != 0) {
            fputs("fake-terraform: plan needs FAKE_TERRAFORM_PLAN and -out=FILE\n", stderr);
            return 1;
        }
        fputs(VERSION, stdout);
        fputs("{\"@level\":\"info\",\"type\":\"change_summary\",\"changes\":{\"add\":0,\"change\":0,\"import\":0,\"remove\":0,\"operation\":\"plan\"}}\n", stdout);
        return 0;
    }
    fprintf(stderr, "fake-terraform: `%s` is not modelled\n", argv[1]);
    return 1;
}
