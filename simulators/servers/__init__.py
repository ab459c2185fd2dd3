"""Protocol servers that put simulated devices on a wire: Modbus TCP, Modbus RTU on a
pseudo-terminal, and the Korad's ASCII on a pseudo-terminal, with injectable wire faults."""
