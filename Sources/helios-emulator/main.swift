import HeliosCore
print("emulator skeleton")
