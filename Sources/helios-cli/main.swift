import HeliosCore
print("helios skeleton")
