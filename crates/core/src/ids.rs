//! Identifiers that say what they name: a payment's id and a ledger account's id. Both are
//! strings on the wire and in storage (`serde(transparent)`); in code they cannot be mixed up
//! with each other or with free text. They read as `&str` (`Deref`), so lookups and formatting
//! need no conversion.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Shown as the string it is (`"p-1"`), so messages read as they did with a `String`.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

string_id!(
    /// A payment's id (a UUID the API assigns).
    PaymentId
);

string_id!(
    /// A ledger account: a party's account in its canonical form ([`crate::canonical_account`]),
    /// or an internal one, `fx:<CCY>` or `fees:<CCY>`.
    AccountId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = PaymentId::new("p-1");
        assert_eq!(serde_json::to_value(&id).unwrap(), serde_json::json!("p-1"));
        let back: PaymentId = serde_json::from_str("\"p-1\"").unwrap();
        assert_eq!(back, id);
        assert_eq!(id, "p-1");
        assert_eq!(format!("{id}"), "p-1");
        assert_eq!(format!("{id:?}"), "\"p-1\"");
        assert!(id.starts_with("p-"), "reads as a str");
        let map: std::collections::BTreeMap<AccountId, u8> = [(AccountId::new("fx:EUR"), 1)].into();
        assert_eq!(map.get("fx:EUR"), Some(&1));
    }
}
