/*
 * Server CPU time for `kmsbench --cpu`: utime + stime from /proc/PID/stat
 * (fields 14 and 15, in clock ticks), sampled when the measured window
 * opens and after the last response. For the in-process floor the sum runs
 * over this process's tasks minus the client threads, so only the floor's
 * libmicrohttpd threads are charged.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tools/kmsbench.h"

/* Fields 14 and 15 of a stat line; the command (field 2) may hold spaces and
 * parentheses, so parsing starts after its last ')'. */
static bool stat_ticks(const char *path, uint64_t *ticks)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return false;
    char line[1024];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')');
    if (p == NULL) return false;
    /* After ')': state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
    unsigned long long v[13] = {0};
    p++;
    for (unsigned field = 3, i = 0; field <= 15; field++) {
        while (*p == ' ') p++;
        if (*p == 0) return false;
        char *end = p;
        if (field == 3) end++;
        else v[i++] = strtoull(p, &end, 10);
        if (end == p) return false;
        p = end;
    }
    unsigned long long ut = v[10], st = v[11];
    *ticks = ut + st;
    return true;
}

pid_t kb_gettid(void) { return (pid_t)syscall(SYS_gettid); }

core_result kb_cpu_ticks(pid_t pid, const pid_t *exclude, unsigned n_exclude, uint64_t *ticks)
{
    char path[96];
    *ticks = 0;
    if (pid != getpid()) {
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        ENSURE(stat_ticks(path, ticks), ERR_IO);
        CORE_OK;
    }
    DIR *d = opendir("/proc/self/task");
    ENSURE(d != NULL, ERR_IO);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        bool skip = false;
        for (unsigned i = 0; i < n_exclude; i++) skip |= exclude[i] == tid;
        uint64_t t;
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
        if (!skip && stat_ticks(path, &t)) *ticks += t; /* a task may end meanwhile */
    }
    closedir(d);
    CORE_OK;
}

/* The inode of the socket listening on 127.0.0.1:port (or any address). */
static bool listen_inode(uint16_t port, unsigned long *inode)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (f == NULL) return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        /* "  sl: local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode" */
        char *p = strchr(line, ':'), *end;
        if (p == NULL) continue;
        p = strchr(p + 1, ':'); /* local address:port */
        if (p == NULL) continue;
        unsigned long lp = strtoul(p + 1, &end, 16);
        unsigned long fields[8];
        unsigned nf = 0;
        p = end;
        while (nf < 8) { /* rem_address st tx:rx tr:when retrnsmt uid timeout inode */
            while (*p == ' ') p++;
            if (*p == 0 || *p == '\n') break;
            char *tok = p;
            while (*p && *p != ' ' && *p != '\n') p++;
            fields[nf] = strtoul(tok, NULL, nf == 1 ? 16 : 10);
            nf++;
        }
        if (nf < 8) continue;
        unsigned long st = fields[1], ino = fields[7];
        if (lp == port && st == 0x0A && ino != 0) {
            *inode = ino;
            found = true;
        }
    }
    fclose(f);
    return found;
}

core_result kb_find_listener(uint16_t port, pid_t *out)
{
    unsigned long inode;
    ENSURE(listen_inode(port, &inode), ERR_NOT_FOUND);
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *procs = opendir("/proc");
    ENSURE(procs != NULL, ERR_IO);
    struct dirent *p;
    *out = 0;
    while (*out == 0 && (p = readdir(procs)) != NULL) {
        if (p->d_name[0] < '0' || p->d_name[0] > '9') continue;
        char dir[300];
        snprintf(dir, sizeof dir, "/proc/%s/fd", p->d_name);
        DIR *fds = opendir(dir); /* other users' processes are not readable: skipped */
        if (fds == NULL) continue;
        struct dirent *fd;
        while ((fd = readdir(fds)) != NULL) {
            char link[600], target[96];
            snprintf(link, sizeof link, "%s/%s", dir, fd->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n <= 0) continue;
            target[n] = 0;
            if (strcmp(target, want) == 0) {
                *out = (pid_t)atoi(p->d_name);
                break;
            }
        }
        closedir(fds);
    }
    closedir(procs);
    ENSURE(*out != 0, ERR_NOT_FOUND);
    CORE_OK;
}
