#ifndef CSPAWNSHIM_H
#define CSPAWNSHIM_H

#include <spawn.h>

/// glibc's posix_spawn_file_actions_addchdir_np, which Swift's Glibc module does not expose
/// (it sits behind _GNU_SOURCE). Returns an errno value, 0 on success.
int cspawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// pipe2(fds, O_CLOEXEC), also hidden behind _GNU_SOURCE. Returns 0 or -1 with errno set.
int cspawn_pipe_cloexec(int fds[2]);

#endif
