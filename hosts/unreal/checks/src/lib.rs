//! Tests only: see tests/. The Unreal plugin itself is C++ and C# (../Source).
