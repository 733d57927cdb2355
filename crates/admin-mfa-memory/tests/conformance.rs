//! The memory store runs the shared store conformance suite.

admin_mfa_testkit::store_conformance!(async { admin_mfa_memory::MemoryStore::new() });
