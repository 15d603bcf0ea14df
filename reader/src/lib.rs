//! The card's electronic purse over PC/SC.
