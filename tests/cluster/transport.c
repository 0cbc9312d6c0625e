/* Which transport carries messages between ranks on the emulated cluster: every rank exchanges a
 * message with every other one, then lists the established TCP connections it holds itself (its
 * own socket inodes in /proc/self/fd, their peers in /proc/self/net/tcp, which is its host's
 * network namespace). Open MPI's TCP BTL connects only to the peers it sends to, so a rank's TCP
 * peers inside the cluster's subnet are the hosts it talks to over TCP; peers on its own host
 * talk over shared memory and need no socket. One line per rank:
 *   rank R host H peers A.B.C.D,A.B.C.E,...
 * Built by tests/cluster/test_emulated_cluster.py with mpicc. */
#include <dirent.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SOCKETS 4096

static unsigned long inodes[MAX_SOCKETS];
static int n_inodes;

static void own_sockets(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  char path[512], target[128];
  while (d && (e = readdir(d)) && n_inodes < MAX_SOCKETS) {
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len <= 0) continue;
    target[len] = '\0';
    unsigned long ino;
    if (sscanf(target, "socket:[%lu]", &ino) == 1) inodes[n_inodes++] = ino;
  }
  if (d) closedir(d);
}

static int is_own(unsigned long ino) {
  for (int i = 0; i < n_inodes; i++)
    if (inodes[i] == ino) return 1;
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int out = rank, in = -1;
  for (int k = 1; k < size; k++) {
    MPI_Sendrecv(&out, 1, MPI_INT, (rank + k) % size, 0, &in, 1, MPI_INT, (rank - k + size) % size, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (in != (rank - k + size) % size) {
      fprintf(stderr, "rank %d: got %d from %d\n", rank, in, (rank - k + size) % size);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  own_sockets();
  char host[256] = "";
  gethostname(host, sizeof host);
  char peers[8192] = "";
  FILE *f = fopen("/proc/self/net/tcp", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    unsigned int local, lport, remote, rport, state;
    unsigned long ino;
    /* sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode */
    if (sscanf(line, " %*d: %8X:%4X %8X:%4X %2X %*s %*s %*s %*s %*s %lu", &local, &lport, &remote, &rport,
               &state, &ino) != 6)
      continue;
    if (state != 1 || !is_own(ino)) continue; /* ESTABLISHED, this process's */
    unsigned char *b = (unsigned char *)&remote;
    char addr[32];
    snprintf(addr, sizeof addr, "%s%u.%u.%u.%u", peers[0] ? "," : "", b[0], b[1], b[2], b[3]);
    if (strlen(peers) + strlen(addr) < sizeof peers) strcat(peers, addr);
  }
  if (f) fclose(f);
  printf("rank %d host %s peers %s\n", rank, host, peers[0] ? peers : "-");
  fflush(stdout);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
