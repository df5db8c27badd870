#include "daemon/daemon.h"

int main(int argc, char** argv) { return mvirt::zfs::RunDaemon(argc, argv); }
