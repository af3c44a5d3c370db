use std::io::Read;

/// Counts the lines of standard input.
fn main() {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).unwrap();
    println!("{}", text.lines().count());
}
