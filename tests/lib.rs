//! Helpers shared by the whole-system tests: locating and running the workspace's binaries.
