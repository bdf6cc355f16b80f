//! Whole-system tests, one binary, a module per concern.

mod demo;
