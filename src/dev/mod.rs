//! Development tools that are not part of the service: stand-ins for the
//! systems zegel talks to, for tests and for trying zegel out locally.

pub mod edubadges_mock;
