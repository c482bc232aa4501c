#pragma once
// A network namespace of the test process's own: its own loopback and its own abstract Unix
// names, which hold the control endpoints of the clients it starts, so that cases ctest runs at
// once never meet, even with equal container ids. Root makes one outright (as CI runs); anyone
// else inside a user namespace of their own, where the system allows those (Debian does), with
// their uid and gid unchanged in it.

namespace tunnel::test {

// Enters one and brings its loopback up; false, with a note on stderr, where none can be made
// (the process then shares the namespace it was started in). Call once, first thing.
bool enter_own_network_namespace();

// Whether enter_own_network_namespace() made one.
bool has_own_network_namespace();

}  // namespace tunnel::test
