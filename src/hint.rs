//! What the user can do about an error, kept apart from the error's message. Each
//! error type of the crate says its own; a renderer places it (the terminal prints it
//! as `hint: ...` under the message). A leaf module, so that every layer can implement it.

pub trait Hint {
    fn hint(&self) -> Option<String>;
}
