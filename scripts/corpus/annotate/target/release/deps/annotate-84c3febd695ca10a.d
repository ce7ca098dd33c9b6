/work/main/scripts/corpus/annotate/target/release/deps/annotate-84c3febd695ca10a.d: src/main.rs

/work/main/scripts/corpus/annotate/target/release/deps/annotate-84c3febd695ca10a: src/main.rs

src/main.rs:
