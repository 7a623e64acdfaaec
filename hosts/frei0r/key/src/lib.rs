//! `mattebox_key.so`: the Mattebox Key frei0r filter.

mattebox_frei0r::export_plugin!(mattebox_frei0r::effect::KeyFilter);
