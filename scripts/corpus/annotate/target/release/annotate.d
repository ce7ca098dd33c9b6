/work/main/scripts/corpus/annotate/target/release/annotate: /work/main/scripts/corpus/annotate/src/main.rs
