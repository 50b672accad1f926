//! # cadre-sandbox
//! PLACEHOLDER: being implemented.
