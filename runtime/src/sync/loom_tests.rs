//! Model checks of the grace-period protocol with `loom` (the fence protocol; loom cannot model
//! membarrier, which only strengthens what the readers' compiler fences rely on).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p tracehook-runtime --lib --release`
//!
//! The "object" a reader uses is a slot index; "freeing" it sets the slot's `freed` flag. A reader
//! that finds its slot freed while inside its section is a use-after-free.

use super::{Domain, Mode};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::atomic::Ordering;

struct World {
    domain: Domain,
    current: AtomicUsize,
    freed: [AtomicBool; 3],
}

impl World {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            domain: Domain::new(),
            current: AtomicUsize::new(0),
            freed: [
                AtomicBool::new(false),
                AtomicBool::new(false),
                AtomicBool::new(false),
            ],
        })
    }

    /// One read-side section: load the current slot and use it.
    fn read(&self) {
        let record = self.domain.acquire_record();
        assert_eq!(self.domain.mode(), Mode::Fence);
        let seq = record.seq.load(Ordering::Relaxed) + 1;
        Domain::enter(record, seq, Mode::Fence);
        let slot = self.current.load(Ordering::Acquire);
        assert!(
            !self.freed[slot].load(Ordering::Relaxed),
            "use after free of slot {slot}"
        );
        loom::thread::yield_now();
        assert!(
            !self.freed[slot].load(Ordering::Relaxed),
            "use after free of slot {slot}"
        );
        Domain::exit(record, seq + 1, Mode::Fence);
        self.domain.release_record(record);
    }

    /// Publish `next`, wait a grace period, free the old slot.
    fn update(&self, next: usize) {
        let old = self.current.swap(next, Ordering::AcqRel);
        self.domain.synchronize();
        self.freed[old].store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_grace_period_waits_for_the_reader() {
    loom::model(|| {
        let world = World::new();
        let reader = {
            let world = Arc::clone(&world);
            loom::thread::spawn(move || world.read())
        };
        world.update(1);
        reader.join().unwrap();
    });
}

#[test]
fn two_updates_and_a_reader_that_comes_back() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(|| {
        let world = World::new();
        let reader = {
            let world = Arc::clone(&world);
            loom::thread::spawn(move || {
                world.read();
                world.read();
            })
        };
        world.update(1);
        world.update(2);
        reader.join().unwrap();
    });
}

#[test]
fn two_readers_and_concurrent_writers() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let world = World::new();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let world = Arc::clone(&world);
                loom::thread::spawn(move || world.read())
            })
            .collect();
        let writer = {
            let world = Arc::clone(&world);
            loom::thread::spawn(move || world.update(1))
        };
        world.update(2);
        writer.join().unwrap();
        for reader in readers {
            reader.join().unwrap();
        }
    });
}

#[test]
fn an_orphan_reader_holds_off_the_grace_period_too() {
    loom::model(|| {
        let world = World::new();
        let reader = {
            let world = Arc::clone(&world);
            loom::thread::spawn(move || {
                world.domain.enter_orphan();
                let slot = world.current.load(Ordering::Acquire);
                loom::thread::yield_now();
                assert!(!world.freed[slot].load(Ordering::Relaxed), "use after free");
                world.domain.exit_orphan();
            })
        };
        world.update(1);
        reader.join().unwrap();
    });
}
