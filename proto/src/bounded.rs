//! `Bounded<T, N>`: a `Vec` that refuses to hold more than `N` items, on both sides of the wire.
//!
//! postcard is not self-describing and trusts length prefixes; serde's `Vec` visitor caps its
//! pre-allocation but would still grow a vector of small encoded items into a large in-memory
//! one (a 16 MiB payload of 10-byte samples is 1.6 M samples of several hundred bytes each).
//! Every repeated field on the wire is a `Bounded`, so the decoder rejects an oversized count
//! from the length prefix before allocating, and the encoder cannot produce what the decoder
//! would refuse.

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

/// A sequence of at most `N` items.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bounded<T, const N: usize>(Vec<T>);

/// More items than a `Bounded` may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} items exceed the limit of {max}")]
pub struct CapacityError {
    pub len: usize,
    pub max: usize,
}

impl<T, const N: usize> Bounded<T, N> {
    pub const MAX: usize = N;

    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends `item`, or hands it back when the bound is reached.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        if self.0.len() >= N {
            return Err(item);
        }
        self.0.push(item);
        Ok(())
    }

    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T, const N: usize> Default for Bounded<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> TryFrom<Vec<T>> for Bounded<T, N> {
    type Error = CapacityError;
    fn try_from(v: Vec<T>) -> Result<Self, Self::Error> {
        if v.len() > N {
            return Err(CapacityError {
                len: v.len(),
                max: N,
            });
        }
        Ok(Self(v))
    }
}

impl<T, const N: usize> Deref for Bounded<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'a, T, const N: usize> IntoIterator for &'a Bounded<T, N> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Bounded<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize, const N: usize> Serialize for Bounded<T, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Bounded<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BoundedVisitor<T, const N: usize>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for BoundedVisitor<T, N> {
            type Value = Bounded<T, N>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a sequence of at most {N} items")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let hint = seq.size_hint().unwrap_or(0);
                if hint > N {
                    return Err(serde::de::Error::invalid_length(hint, &self));
                }
                // `hint` is at most N and, for postcard, checked against nothing else yet:
                // cap the up-front allocation further so a lying prefix costs little.
                let mut items = Vec::with_capacity(hint.min(1024));
                while let Some(item) = seq.next_element()? {
                    if items.len() == N {
                        return Err(serde::de::Error::invalid_length(N + 1, &self));
                    }
                    items.push(item);
                }
                Ok(Bounded(items))
            }
        }

        d.deserialize_seq(BoundedVisitor::<T, N>(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_refuses_items_beyond_the_bound() {
        let mut b: Bounded<u8, 2> = Bounded::new();
        assert_eq!(b.push(1), Ok(()));
        assert_eq!(b.push(2), Ok(()));
        assert_eq!(b.push(3), Err(3));
        assert_eq!(&*b, &[1, 2]);
    }

    #[test]
    fn decoding_rejects_a_length_prefix_above_the_bound_before_reading_items() {
        // 1,000 items, every one present: only the bound can refuse this.
        let bytes = postcard::to_allocvec(&vec![7u8; 1_000]).unwrap();
        let err = postcard::from_bytes::<Bounded<u8, 16>>(&bytes).unwrap_err();
        assert!(matches!(err, postcard::Error::SerdeDeCustom), "{err:?}");
    }

    #[test]
    fn decoding_accepts_exactly_the_bound() {
        let bytes = postcard::to_allocvec(&vec![7u8; 16]).unwrap();
        let b: Bounded<u8, 16> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(b.len(), 16);
    }
}
