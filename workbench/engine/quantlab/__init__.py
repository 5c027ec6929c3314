"""Child processes of the quantization lab: llama.cpp's quantizer and the measuring run."""
