fn main() {
    std::process::exit(cf_bluegreen::run(std::env::args_os()));
}
