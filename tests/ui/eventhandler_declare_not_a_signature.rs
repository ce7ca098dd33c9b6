use tracehook::eventhandler_declare;

eventhandler_declare!(shutdown, i32);

fn main() {}
