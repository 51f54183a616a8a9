//! Kxian's native worker. Its commands (`forecast`, `download`, `finetune-*`, `train`,
//! `evaluate`) arrive with the model and training issues; they all start from [`input`].

pub mod input;
