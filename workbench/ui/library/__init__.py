"""The Models tab: the library, the Hub, downloads, the model picker."""
