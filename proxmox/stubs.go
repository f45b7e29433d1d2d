package proxmox

// ContainerService creates and configures LXC containers.
type ContainerService struct{ c *Client }

// BackupService runs vzdump and manages backup volumes.
type BackupService struct{ c *Client }
