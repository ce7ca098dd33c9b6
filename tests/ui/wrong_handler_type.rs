use tracehook::eventhandler::PRI_ANY;
use tracehook::{eventhandler_declare, eventhandler_register};

eventhandler_declare!(shutdown, fn(howto: i32));

fn main() {
    let _tag = eventhandler_register!(shutdown, |reason: &str| println!("{reason}"), PRI_ANY);
}
