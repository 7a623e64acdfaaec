//! `mattebox_over.so`: the Mattebox Over frei0r mixer2 transition.

mattebox_frei0r::export_plugin!(mattebox_frei0r::effect::OverMixer);
